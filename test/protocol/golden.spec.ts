/**
 * Golden fixtures captured from real Python Celery 5.2 over Redis (test/fixtures/capture.py):
 * every captured task message is decoded with our decoders, and re-encoded with
 * createTaskMessage/encodeBody and compared header by header (and byte by byte for JSON
 * bodies) with what Python sent. Result metas are read back as the Redis backend stored them.
 * No Python is needed to run this suite.
 */
import { expect } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { dumps, loads } from '../../libs/nestjs-celery/src/protocol/json.js';
import { decodeEnvelope } from '../../libs/nestjs-celery/src/protocol/kombu-envelope.js';
import { AcceptContent, decodeBody, encodeBody, type SerializerName } from '../../libs/nestjs-celery/src/protocol/serialization.js';
import { createTaskMessage, decodeTaskMessage, type TaskRequest } from '../../libs/nestjs-celery/src/protocol/task-message.js';
import { pyRepr } from '../../libs/nestjs-celery/src/protocol/repr.js';
import { nowNaiveUtcIso, parseIsoDate } from '../../libs/nestjs-celery/src/protocol/dates.js';
import { exceptionFromResult } from '../../libs/nestjs-celery/src/protocol/exceptions.js';
import type { TransportMessage } from '../../libs/nestjs-celery/src/protocol/transport-message.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

interface MessageFixture {
  name: string;
  description: string;
  conf: Record<string, unknown>;
  inputs: Record<string, unknown>;
  sent_between: [number, number];
  pid: number;
  captured_with: { celery: string; kombu: string; hostname: string };
  messages: { redis_key: string; raw: string }[];
}

interface MetaFixture {
  name: string;
  task_id: string;
  ttl: number;
  raw: string;
}

function readFixtures<T>(folder: string): T[] {
  const dir = join(FIXTURES, folder);
  // our loads: fixtures hold integers beyond 2^53
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => loads(readFileSync(join(dir, f), 'utf8')) as T);
}

const messageFixtures = readFixtures<MessageFixture>('task-messages');
const metaFixtures = readFixtures<MetaFixture>('result-metas');
const byName = <T extends { name: string }>(list: T[], name: string) => {
  const found = list.find((f) => f.name === name);
  if (!found) throw new Error(`fixture ${name} missing: run test/fixtures/capture.py`);
  return found;
};

const ACCEPT_ALL = new AcceptContent(['json', 'msgpack', 'yaml']);
const SERIALIZERS: Record<string, SerializerName> = {
  'application/json': 'json',
  'application/x-msgpack': 'msgpack',
  'application/x-yaml': 'yaml',
};

interface Decoded {
  message: TransportMessage;
  body: unknown;
  request: TaskRequest;
  raw: string;
}

function decode(raw: string): Decoded {
  const envelope = decodeEnvelope(raw);
  expect(envelope.error).toBeUndefined();
  const body = decodeBody(envelope.message, ACCEPT_ALL);
  return { message: envelope.message, body, request: decodeTaskMessage(envelope.message.headers, envelope.message.properties, body), raw };
}

/**
 * JS numbers cannot say "float" for an integral value: Python's 1.0, 1e+16 and -0.0 are 1,
 * 10000000000000000 and 0 for us. The one fixture with such floats is compared after this
 * substitution; everything else must match as captured.
 */
const INTEGRAL_FLOATS: [string, string][] = [['[0.1, 1.0, 1e+16, 1.5e-07, -0.0, 123456789.125]', '[0.1, 1, 10000000000000000, 1.5e-07, 0, 123456789.125]']];
const asJsSees = (text: string) => INTEGRAL_FLOATS.reduce((t, [py, js]) => t.split(py).join(js), text);

/** The same, for values: integral floats come back as ints (BigInt beyond 2^53). */
function asIntegers(value: unknown): unknown {
  if (typeof value === 'number' && Number.isInteger(value)) return Number.isSafeInteger(value) ? value + 0 : BigInt(value);
  if (Array.isArray(value)) return value.map(asIntegers);
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asIntegers(v)]));
  }
  return value;
}

describe('golden task messages from Python Celery 5.2', () => {
  test('fixtures are present and come from Celery 5.2 / kombu 5.2', () => {
    expect(messageFixtures.length).toBeGreaterThanOrEqual(15);
    for (const f of messageFixtures) {
      expect(f.captured_with.celery).toMatch(/^5\.2\./);
      expect(f.captured_with.kombu).toMatch(/^5\.2\./);
    }
  });

  describe.each(messageFixtures.map((f) => [f.name, f] as const))('%s', (_name, fixture) => {
    const decoded = fixture.messages.map((m) => decode(m.raw));

    test('our JSON reproduces the kombu envelope byte for byte', () => {
      for (const m of fixture.messages) expect(dumps(loads(m.raw))).toBe(m.raw);
    });

    test('decodes to a valid request whose fields agree with the headers', () => {
      for (const { message, request } of decoded) {
        const h = message.headers;
        const isV1 = fixture.name.startsWith('v1-');
        expect(request.protocol).toBe(isV1 ? 1 : 2);
        expect(request.id).toBe(isV1 ? (decodedBodyOf(message) as { id: string }).id : h.id);
        expect(request.correlationId).toBe(request.id);
        expect(request.replyTo).toBe(message.properties.replyTo);
        if (!isV1) {
          expect(request.task).toBe(h.task);
          expect(request.rootId).toBe(h.root_id);
          expect(request.headers.argsrepr).toBe(h.argsrepr);
          expect(request.timeLimit).toEqual(h.timelimit);
          expect(request.eta?.getTime() ?? null).toBe(h.eta ? parseIsoDate(h.eta as string).getTime() : null);
        }
      }
    });
  });

  const v2 = messageFixtures.filter((f) => f.name.startsWith('v2-'));
  describe.each(v2.map((f) => [f.name, f] as const))('re-encoding %s with createTaskMessage', (_name, fixture) => {
    test('gives the same headers, in the same order, and the same properties', () => {
      for (const m of fixture.messages) {
        const { message, request } = decode(m.raw);
        const golden = message.headers;
        const [args, kwargs, embed] = request.args && [request.args, request.kwargs, request.embed];
        const expires = golden.expires ? parseIsoDate(golden.expires as string) : null;
        const inputs = fixture.inputs;
        const ours = createTaskMessage({
          id: golden.id as string,
          task: golden.task as string,
          args,
          kwargs,
          eta: golden.eta ? parseIsoDate(golden.eta as string) : null,
          expires,
          // for a relative expires, Celery computed expiration from its own now
          now: expires && typeof inputs.expires === 'number' ? new Date(expires.getTime() - inputs.expires * 1000) : undefined,
          retries: golden.retries as number,
          timeLimit: golden.timelimit as [number | null, number | null],
          rootId: golden.root_id as string,
          parentId: golden.parent_id as string | null,
          group: golden.group as string | null,
          groupIndex: golden.group_index as number | null,
          shadow: golden.shadow as string | null,
          ignoreResult: golden.ignore_result as boolean,
          replyTo: message.properties.replyTo as string,
          priority: inputs.priority as number | undefined,
          origin: golden.origin as string,
          callbacks: embed.callbacks,
          errbacks: embed.errbacks,
          chain: embed.chain,
          chord: embed.chord,
          headers: golden.compression ? { compression: golden.compression } : undefined,
        });

        expect(Object.keys(ours.headers)).toEqual(Object.keys(golden));
        for (const key of Object.keys(golden)) {
          if (key === 'eta' || key === 'expires') continue;
          if (key === 'argsrepr' && fixture.name === 'v2-send-task-list-args') {
            // send_task(args=[...]) passes a list: Python prints a list repr (delay, apply_async
            // and signatures pass tuples, which is what createTaskMessage writes by default)
            expect(pyRepr(args)).toBe(golden.argsrepr);
            continue;
          }
          if (key === 'kwargsrepr') {
            expect(ours.headers.kwargsrepr).toBe(asJsSees(golden.kwargsrepr as string));
            continue;
          }
          expect([key, ours.headers[key]]).toEqual([key, golden[key]]);
        }
        // times: JS keeps milliseconds, the format is Python's (6 digits or none)
        for (const key of ['eta', 'expires'] as const) {
          const g = golden[key] as string | null;
          expect(ours.headers[key] === null).toBe(g === null);
          if (g) {
            expect(parseIsoDate(ours.headers[key] as string).getTime()).toBe(parseIsoDate(g).getTime());
            expect(ours.headers[key]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/);
          }
        }

        expect(ours.properties.correlationId).toBe(message.properties.correlationId);
        expect(ours.properties.replyTo).toBe(message.properties.replyTo);
        expect(ours.properties.deliveryMode).toBe(message.properties.deliveryMode);
        if (inputs.priority !== undefined) expect(ours.properties.priority).toBe(message.properties.priority);
        if (typeof inputs.expires === 'number') expect(ours.properties.expiration).toBe(message.properties.expiration);
        if (golden.expires && typeof inputs.expires !== 'number') {
          // an absolute expires: Celery measured from its own clock at send time
          const [from, to] = fixture.sent_between;
          const ms = Number(message.properties.expiration);
          expect(ms).toBeGreaterThanOrEqual(Math.trunc(expires!.getTime() - to * 1000) - 1);
          expect(ms).toBeLessThanOrEqual(Math.trunc(expires!.getTime() - from * 1000) + 1);
        }
        if (golden.expires === null) expect(message.properties.expiration).toBeUndefined();
      }
    });

    test('re-encodes the body to the same value (and the same bytes for JSON)', () => {
      for (const m of fixture.messages) {
        const { message, body, request } = decode(m.raw);
        const serializer = SERIALIZERS[message.contentType];
        const compression = message.headers.compression ? 'zlib' : undefined;
        const ours = encodeBody([request.args, request.kwargs, request.embed], serializer, compression);
        expect(ours.contentType).toBe(message.contentType);
        expect(ours.contentEncoding).toBe(message.contentEncoding);
        expect(ours.compression).toBe(message.headers.compression);
        const again = decodeBody({ ...ours, headers: { compression: ours.compression } }, ACCEPT_ALL);
        expect(again).toEqual(asIntegers(body));
        if (serializer === 'json') {
          const oursText = (compression ? inflateSync(ours.body) : ours.body).toString('utf8');
          const goldenText = (compression ? inflateSync(message.body) : message.body).toString('utf8');
          expect(oursText).toBe(asJsSees(goldenText));
        }
      }
    });
  });
});

function decodedBodyOf(message: TransportMessage): unknown {
  return decodeBody(message, ACCEPT_ALL);
}

describe('golden specifics', () => {
  test('delay() sends args as a tuple: argsrepr (2, 2); a 1-tuple prints ([1, 2],)', () => {
    expect(decode(byName(messageFixtures, 'v2-delay').messages[0].raw).message.headers.argsrepr).toBe('(2, 2)');
    const one = decode(byName(messageFixtures, 'v2-delay-one-arg').messages[0].raw);
    expect(one.message.headers.argsrepr).toBe('([1, 2],)');
    expect(one.request.args).toEqual([[1, 2]]);
  });

  test('unicode, nested values, None, floats and a big int decode losslessly', () => {
    const { request } = decode(byName(messageFixtures, 'v2-kwargs-unicode-nested').messages[0].raw);
    expect(request.args).toEqual(['a', 1]);
    expect(request.kwargs).toEqual({
      text: 'h\u00e9llo w\u00f6rld \u2603 \u{1F600} "quoted" \'single\' back\\slash\nnewline\ttab',
      nested: { list: [1, 2.5, null, true, false, { deep: [[[1]]] }], empty: {} },
      none: null,
      floats: [0.1, 1, 1e16, 1.5e-7, -0, 123456789.125],
      big: 2n ** 64n + 1n,
      'unicode_key_\u00e9': 'v',
    });
  });

  test('countdown/expires/time limits/priority/shadow/ignore_result', () => {
    const f = byName(messageFixtures, 'v2-eta-expires-timelimit-priority');
    const { request, message } = decode(f.messages[0].raw);
    expect(f.messages[0].redis_key).toBe('<queue>\x06\x163'); // priority 5 → the step-3 list
    expect(request).toMatchObject({ name: 'add-shadow', task: 'tasks.add', timeLimit: [30, 20], ignoreResult: true });
    expect(message.properties).toMatchObject({ priority: 5, expiration: '120000', deliveryMode: 2 });
    const [from, to] = f.sent_between;
    expect(request.eta!.getTime()).toBeGreaterThanOrEqual(Math.floor((from + 60) * 1000));
    expect(request.eta!.getTime()).toBeLessThanOrEqual(Math.ceil((to + 60) * 1000));
    expect(request.expires!.getTime() - request.eta!.getTime()).toBe(60_000);
    expect(message.headers.eta).toMatch(/\.\d{6}\+00:00$/);
  });

  test('an aware eta with zero microseconds has no fraction; microseconds below 1 ms are dropped on read', () => {
    const { request, message } = decode(byName(messageFixtures, 'v2-eta-datetime').messages[0].raw);
    expect(message.headers.eta).toBe('2030-01-02T03:04:05+00:00');
    expect(request.eta).toEqual(new Date('2030-01-02T03:04:05Z'));
    expect(message.headers.expires).toBe('2030-01-02T03:04:06.000007+00:00');
    expect(request.expires).toEqual(new Date('2030-01-02T03:04:06Z'));
  });

  test('explicit root/parent/group ids, group_index, retries, reply_to', () => {
    const { request } = decode(byName(messageFixtures, 'v2-parent-root-group').messages[0].raw);
    expect(request).toMatchObject({ rootId: 'root-1', parentId: 'parent-1', groupId: 'group-1', groupIndex: 2, retries: 3, replyTo: 'reply-queue-1' });
  });

  test('link/link_error are embed callbacks/errbacks', () => {
    const { request } = decode(byName(messageFixtures, 'v2-link-link-error').messages[0].raw);
    expect(request.embed.callbacks).toEqual([{ task: 'tasks.add', args: [10], kwargs: {}, options: {}, subtask_type: null, immutable: false }]);
    expect(request.embed.errbacks).toEqual([{ task: 'tasks.tsum', args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false }]);
  });

  test('a chain sends the first step with the rest reversed in embed.chain', () => {
    const { request } = decode(byName(messageFixtures, 'v2-chain').messages[0].raw);
    expect(request.args).toEqual([2, 2]);
    expect(request.embed.chain!.map((s) => s.args)).toEqual([[8], [4]]);
    for (const step of request.embed.chain!) expect(step.options).toEqual({ task_id: expect.any(String), reply_to: request.replyTo });
  });

  test('a group sets the group header, group_index stays null', () => {
    const f = byName(messageFixtures, 'v2-group');
    const requests = f.messages.map((m) => decode(m.raw).request);
    expect(requests).toHaveLength(2);
    expect(new Set(requests.map((r) => r.groupId)).size).toBe(1);
    expect(requests.map((r) => r.groupIndex)).toEqual([null, null]);
  });

  test('chord header members carry embed.chord, group and group_index', () => {
    const requests = byName(messageFixtures, 'v2-chord-header').messages.map((m) => decode(m.raw).request);
    expect(requests.map((r) => r.groupIndex)).toEqual([0, 1]);
    expect(requests[0].groupId).toBe(requests[1].groupId);
    for (const r of requests) expect(r.embed.chord).toMatchObject({ task: 'tasks.tsum', args: [], options: { task_id: expect.any(String) } });
  });

  test('protocol 1: empty headers, a dict body converted with hybrid_to_proto2', () => {
    const f = byName(messageFixtures, 'v1-protocol');
    const { request, message, body } = decode(f.messages[0].raw);
    expect(message.headers).toEqual({});
    expect(body).toMatchObject({ task: 'tasks.add', args: [5, 6], utc: true, taskset: null });
    expect(request).toMatchObject({ protocol: 1, task: 'tasks.add', args: [5, 6], kwargs: {}, retries: 0, timeLimit: [null, null], groupId: null });
    expect(request.expires!.getTime() - request.eta!.getTime()).toBe(30_000);
    expect(message.properties.expiration).toBe('60000');
    const link = decode(byName(messageFixtures, 'v1-protocol-link').messages[0].raw).request;
    expect(link.embed).toEqual({
      callbacks: [{ task: 'tasks.add', args: [1], kwargs: {}, options: {}, subtask_type: null, immutable: false }],
      errbacks: null,
      chord: null,
      chain: null,
    });
  });

  test('msgpack: str as str, bytes as bin (a Buffer), uint64 as a number', () => {
    const { request, message } = decode(byName(messageFixtures, 'v2-msgpack').messages[0].raw);
    expect(message.contentType).toBe('application/x-msgpack');
    expect(message.contentEncoding).toBe('binary');
    expect(request.args).toEqual(['h\u00e9', Buffer.from([0, 1, 255]), 2 ** 40, 1.5, null, true]);
    expect(request.kwargs).toEqual({ k: [1, { x: 'y' }] });
    // and we print bytes the way saferepr does
    expect(createTaskMessage({ id: 'x', task: 't', args: request.args, replyTo: 'r' }).headers.argsrepr).toBe(message.headers.argsrepr);
  });

  test("yaml: PyYAML's safe_dump output, escapes and quoted look-alikes included", () => {
    const { request, message } = decode(byName(messageFixtures, 'v2-yaml').messages[0].raw);
    expect(message.contentType).toBe('application/x-yaml');
    expect(request.args).toEqual(['h\u00e9', 'yes', 1.5, null, true, '2024-01-01']);
  });

  test('zlib: header application/x-gzip, body in zlib format', () => {
    const { message, request } = decode(byName(messageFixtures, 'v2-zlib').messages[0].raw);
    expect(message.headers.compression).toBe('application/x-gzip');
    expect(message.body[0]).toBe(0x78);
    expect(request.args).toEqual([7, 8]);
  });

  test('a long argsrepr is truncated exactly like saferepr(…, 1024)', () => {
    const { message, request } = decode(byName(messageFixtures, 'v2-long-argsrepr').messages[0].raw);
    expect((message.headers.argsrepr as string).length).toBeLessThan(1100);
    expect(createTaskMessage({ id: 'x', task: 't', args: request.args, kwargs: request.kwargs, replyTo: 'r' }).headers).toMatchObject({
      argsrepr: message.headers.argsrepr,
      kwargsrepr: message.headers.kwargsrepr,
    });
  });
});

describe('golden result metas from the Redis backend', () => {
  const metas = Object.fromEntries(metaFixtures.map((f) => [f.name, { ...f, meta: loads(f.raw) as Record<string, unknown> }]));

  test('our JSON reproduces every stored value byte for byte', () => {
    expect(metaFixtures.length).toBeGreaterThanOrEqual(15);
    for (const f of metaFixtures) expect(dumps(loads(f.raw))).toBe(f.raw);
  });

  test('date_done is naive UTC isoformat for ready states, null otherwise; ours has the same shape', () => {
    const naive = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/;
    for (const { meta } of Object.values(metas)) {
      if (!('status' in meta)) continue;
      if (['SUCCESS', 'FAILURE', 'REVOKED'].includes(meta.status as string)) {
        expect(meta.date_done).toMatch(naive);
        expect(parseIsoDate(meta.date_done as string).getTime()).not.toBeNaN();
      } else {
        expect(meta.date_done).toBeNull();
      }
    }
    expect(nowNaiveUtcIso(new Date('2024-05-01T10:00:05.123Z'))).toMatch(naive);
  });

  test("exception results become typed CeleryTaskErrors whose message is the traceback's last line", () => {
    // the names whose last traceback line is str(exc) of the stored args (a custom __str__ or
    // repr of a non-JSON-able arg cannot be rebuilt from exc_message)
    for (const name of [
      'failure-value-error',
      'failure-key-error',
      'failure-multi-args',
      'failure-no-args',
      'failure-custom-class',
      'failure-not-registered',
      'retry',
    ]) {
      const { meta, task_id } = metas[name];
      const error = exceptionFromResult(meta.result, meta.traceback as string, task_id, meta.status as string);
      const lastLine = (meta.traceback as string).trimEnd().split('\n').pop();
      expect([name, error.message]).toEqual([name, lastLine]);
      expect(error.traceback).toBe(meta.traceback);
      expect(error.state).toBe(meta.status);
    }
  });

  test('exception fields as Celery stores them', () => {
    const fields = (name: string) => {
      const e = exceptionFromResult(metas[name].meta.result, null);
      return [e.excType, e.excModule, e.excMessage];
    };
    expect(fields('failure-value-error')).toEqual(['ValueError', 'builtins', ['custom']]);
    expect(fields('failure-unserializable-arg')).toEqual(['ValueError', 'builtins', ['<Opaque>', '{1, 2}', 'ok']]);
    expect(fields('failure-time-limit')).toEqual(['TimeLimitExceeded', 'billiard.exceptions', [30]]);
    expect(fields('revoked')).toEqual(['TaskRevokedError', 'celery.exceptions', ['revoked']]);
    expect(fields('revoked-expired')).toEqual(['TaskRevokedError', 'celery.exceptions', ['expired']]);
    expect(metas.revoked.meta.traceback).toBeNull();
  });

  test('children, group_id/parent_id and result_extended fields', () => {
    expect(metas['success'].meta).toMatchObject({ status: 'SUCCESS', result: 4, traceback: null, children: null });
    expect(metas['success-with-request'].meta).toMatchObject({
      group_id: 'group-1',
      parent_id: 'parent-1',
      children: [
        [['child-1', null], null],
        [
          ['group-child', null],
          [
            [['gc-1', null], null],
            [['gc-2', null], null],
          ],
        ],
      ],
    });
    expect(metas['success-extended'].meta).toMatchObject({
      name: 'tasks.add',
      args: [1, 2],
      kwargs: { k: 'v' },
      worker: 'celery@host',
      retries: 1,
      queue: 'celery',
    });
    expect(metas['started'].meta).toMatchObject({ status: 'STARTED', result: { pid: 1234, hostname: 'celery@host' }, date_done: null });
    expect(metas['group-saved'].meta).toEqual({
      result: [
        [metas['group-saved'].task_id, null],
        [
          [['t-1', null], null],
          [['t-2', null], null],
        ],
      ],
    });
    // key order as Celery writes it, task_id last
    expect(Object.keys(metas['success-with-request'].meta)).toEqual([
      'status',
      'result',
      'traceback',
      'children',
      'date_done',
      'group_id',
      'parent_id',
      'task_id',
    ]);
    for (const f of metaFixtures) expect(f.ttl).toBeGreaterThan(86_000);
  });
});
