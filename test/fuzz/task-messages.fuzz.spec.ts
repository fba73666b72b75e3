/**
 * Fuzz: the path a task message takes from the wire to a TaskRequest: kombu's Redis envelope
 * (and the `unacked` entries), the body in each serializer and compression, the task message
 * itself. Seeds: the envelopes Python Celery wrote (test/fixtures/task-messages) and generated
 * messages, mutated. Defined outcomes: a value, or a typed error (DecodeError, ContentDisallowed,
 * MessageTooLarge, InvalidTaskError) the worker turns into FAILURE + reject.
 */
import fc from 'fast-check';
import { ContentDisallowedError, DecodeError, InvalidTaskError, MessageTooLargeError, ProtocolError } from '../../libs/nestjs-celery/src/protocol/errors.js';
import { decodeEnvelope, decodeUnackedEntry, encodeEnvelope, encodeUnackedEntry } from '../../libs/nestjs-celery/src/protocol/kombu-envelope.js';
import { AcceptContent, decodeBody, encodeBody, type SerializerName } from '../../libs/nestjs-celery/src/protocol/serialization.js';
import { createTaskMessage, decodeTaskMessage } from '../../libs/nestjs-celery/src/protocol/task-message.js';
import { FC_OPTIONS, FUZZ_TIMEOUT_MS, expectOnly, heapGrowth, mutated, mutatedText, pythonEnvelopes, wireValue } from './support.js';

const ACCEPT_ALL = new AcceptContent(['json', 'msgpack', 'yaml']);
/** small limits, so mutated compressed bodies hit them often */
const LIMITS = { maxDecompressedBytes: 64 * 1024, maxYamlNodes: 10_000 };

/** Everything the worker does with a delivered message before running it. */
function decodeAll(message: {
  body: Buffer;
  contentType: string;
  contentEncoding: string;
  headers: Record<string, unknown>;
  properties: Record<string, unknown>;
}): void {
  const body = expectOnly(() => decodeBody(message, ACCEPT_ALL, LIMITS), DecodeError, ContentDisallowedError, MessageTooLargeError);
  if (body === undefined) return;
  const request = expectOnly(() => decodeTaskMessage(message.headers, message.properties, body), InvalidTaskError) as
    ReturnType<typeof decodeTaskMessage> | undefined;
  if (request) {
    expect(typeof request.id).toBe('string');
    expect(request.id.length).toBeLessThanOrEqual(256);
    expect(request.task.length).toBeLessThanOrEqual(512);
    expect(Array.isArray(request.args)).toBe(true);
  }
}

const serializer = fc.constantFrom<SerializerName>('json', 'msgpack', 'yaml');
const compression = fc.constantFrom(undefined, 'zlib', 'brotli');
const generatedMessage = fc
  .record({
    id: fc.oneof(fc.uuid(), fc.string({ maxLength: 300 })),
    task: fc.oneof(fc.constantFrom('tasks.add', 'celery.chord_unlock'), fc.string({ maxLength: 600 })),
    args: fc.array(wireValue, { maxLength: 4 }),
    kwargs: fc.dictionary(fc.string({ maxLength: 8 }), wireValue, { maxKeys: 4 }),
    serializer,
    compression,
  })
  .map(({ id, task, args, kwargs, serializer, compression }) => {
    const m = createTaskMessage({ id: id || 'x', task: task || 't', args, kwargs, replyTo: 'oid' });
    const encoded = encodeBody(m.body, serializer, compression);
    return {
      message: {
        body: encoded.body,
        contentType: encoded.contentType,
        contentEncoding: encoded.contentEncoding,
        headers: encoded.compression ? { ...m.headers, compression: encoded.compression } : m.headers,
        properties: m.properties,
      },
    };
  });

describe('fuzz: task messages from the wire', () => {
  const python = pythonEnvelopes();

  test('the Python fixtures decode cleanly (the seeds are valid)', () => {
    expect(python.length).toBeGreaterThan(10);
    for (const raw of python) {
      const decoded = decodeEnvelope(raw);
      expect(decoded.error).toBeUndefined();
      expect(() => decodeTaskMessage(decoded.message.headers, decoded.message.properties, decodeBody(decoded.message, ACCEPT_ALL))).not.toThrow();
    }
  });

  test(
    'mutated Python envelopes: decodeEnvelope returns (maybe with an error) or throws DecodeError; what it returns decodes to a request or a typed error',
    async () => {
      const growth = await heapGrowth(() =>
        fc.assert(
          fc.property(mutatedText(fc.constantFrom(...python)), (raw) => {
            const decoded = expectOnly(() => decodeEnvelope(raw), DecodeError) as ReturnType<typeof decodeEnvelope> | undefined;
            if (!decoded) return;
            if (decoded.error) {
              expect(decoded.error).toBeInstanceOf(DecodeError);
              return;
            }
            decodeAll(decoded.message);
          }),
          FC_OPTIONS,
        ),
      );
      expect(growth).toBeLessThan(256 * 1024 * 1024);
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'generated messages in every serializer and compression, bodies mutated: a request or a typed error',
    () => {
      fc.assert(
        fc.property(generatedMessage, ({ message }) => decodeAll(message)),
        { ...FC_OPTIONS, numRuns: Math.ceil(FC_OPTIONS.numRuns / 2) },
      );
      fc.assert(
        fc.property(
          generatedMessage.chain(({ message }) => mutated(fc.constant(message.body)).map((body) => ({ ...message, body }))),
          (message) => decodeAll(message),
        ),
        FC_OPTIONS,
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'arbitrary bytes under every content type and compression header: a value or a typed error',
    () => {
      const types = fc.constantFrom(
        'application/json',
        'application/x-msgpack',
        'application/x-yaml',
        'application/x-python-serialize',
        'application/data',
        'text/plain',
        '',
      );
      const compressions = fc.constantFrom(undefined, 'application/x-gzip', 'application/x-brotli', 'application/x-bz2', 'zstd', 'nonsense');
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 300 }),
          types,
          compressions,
          fc.constantFrom('utf-8', 'binary', 'latin-1', 'utf-16', 'nope'),
          (bytes, contentType, c, encoding) => {
            expectOnly(
              () =>
                decodeBody(
                  { body: Buffer.from(bytes), contentType, contentEncoding: encoding, headers: c ? { compression: c, id: 'x' } : {} },
                  ACCEPT_ALL,
                  LIMITS,
                ),
              ProtocolError,
            );
          },
        ),
        FC_OPTIONS,
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'decodeTaskMessage on arbitrary headers and bodies: a request or InvalidTaskError',
    () => {
      const headers = fc.dictionary(
        fc.constantFrom(
          'id',
          'task',
          'eta',
          'expires',
          'retries',
          'timelimit',
          'group',
          'group_index',
          'root_id',
          'parent_id',
          'shadow',
          'argsrepr',
          'lang',
          'x',
        ),
        wireValue,
      );
      fc.assert(
        fc.property(
          headers,
          wireValue,
          fc.dictionary(fc.constantFrom('reply_to', 'correlation_id', 'replyTo', 'correlationId'), wireValue),
          (h, body, props) => {
            expectOnly(() => decodeTaskMessage(h, props, body), InvalidTaskError);
          },
        ),
        FC_OPTIONS,
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    "kombu's unacked entries (restore path), mutated: an entry or DecodeError",
    () => {
      const entries = fc.constantFrom(...python).map((raw) => encodeUnackedEntry(raw, '', 'celery'));
      fc.assert(
        fc.property(mutatedText(entries), (raw) => {
          expectOnly(() => decodeUnackedEntry(raw), DecodeError);
        }),
        FC_OPTIONS,
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test('our own envelopes round-trip under generated properties', () => {
    fc.assert(
      fc.property(generatedMessage, fc.string({ maxLength: 20 }), ({ message }, queue) => {
        const raw = encodeEnvelope({ ...message, properties: { ...message.properties } }, { exchange: '', routing_key: queue }, 'tag');
        const decoded = decodeEnvelope(raw);
        if (!decoded.error) expect(decoded.message.body.equals(message.body)).toBe(true);
      }),
      { ...FC_OPTIONS, numRuns: 300 },
    );
  });

  test('fixed cases: msgpack length prefixes claiming up to 4 GiB, and deep nesting in every serializer', () => {
    for (const tag of [0xdd, 0xdf, 0xdb, 0xc6]) {
      for (const length of [0x01ffffff, 0x7fffffff, 0xffffffff]) {
        const body = Buffer.alloc(5);
        body[0] = tag;
        body.writeUInt32BE(length, 1);
        const rss = process.memoryUsage().rss;
        expectOnly(() => decodeBody({ body, contentType: 'application/x-msgpack', contentEncoding: 'binary', headers: { id: 'x' } }, ACCEPT_ALL), DecodeError);
        expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 * 1024);
      }
    }
    const deepJson = '['.repeat(100_000) + ']'.repeat(100_000);
    const deepMsgpack = Buffer.concat([Buffer.alloc(100_000, 0x91), Buffer.from([0x90])]);
    const deepYaml = '['.repeat(10_000) + ']'.repeat(10_000);
    for (const [body, contentType] of [
      [`[[${deepJson}], {}, null]`, 'application/json'],
      [`[[${deepJson}, NaN], {}, null]`, 'application/json'],
      [deepMsgpack, 'application/x-msgpack'],
      [deepYaml, 'application/x-yaml'],
    ] as const) {
      decodeAll({ body: Buffer.from(body), contentType, contentEncoding: 'utf-8', headers: { id: 'deep', task: 't' }, properties: {} });
    }
  });
});
