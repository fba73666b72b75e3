import fc from 'fast-check';
import { DecodeError, MessageTooLargeError } from './errors.js';
import { dumps, loads } from './json.js';
import { decodeEnvelope, decodeUnackedEntry, encodeEnvelope, encodeUnackedEntry, redeliveredEnvelope } from './kombu-envelope.js';
import type { TransportMessage } from './transport-message.js';

/** Captured from Celery 5.2.6 / kombu 5.2.4: app.send_task('tasks.add', [2, 2], queue='capq1', priority=5, expires=60). */
const PYTHON_ENVELOPE =
  '{"body": "W1syLCAyXSwge30sIHsiY2FsbGJhY2tzIjogbnVsbCwgImVycmJhY2tzIjogbnVsbCwgImNoYWluIjogbnVsbCwgImNob3JkIjogbnVsbH1d", ' +
  '"content-encoding": "utf-8", "content-type": "application/json", "headers": {"lang": "py", "task": "tasks.add", ' +
  '"id": "cb4c46b2-29d0-4b38-8cc0-74d4b48b4c8d", "shadow": null, "eta": null, "expires": "2026-11-24T01:47:06.617831+00:00", ' +
  '"group": null, "group_index": null, "retries": 0, "timelimit": [null, null], "root_id": "cb4c46b2-29d0-4b38-8cc0-74d4b48b4c8d", ' +
  '"parent_id": null, "argsrepr": "[2, 2]", "kwargsrepr": "{}", "origin": "gen8442@vm", "ignore_result": false}, ' +
  '"properties": {"correlation_id": "cb4c46b2-29d0-4b38-8cc0-74d4b48b4c8d", "reply_to": "0e863aa0-5224-3920-8dc9-24c8ea5489f2", ' +
  '"delivery_mode": 2, "expiration": "60000", "delivery_info": {"exchange": "", "routing_key": "capq1"}, "priority": 5, ' +
  '"body_encoding": "base64", "delivery_tag": "2c2b2e62-2739-45e6-9164-d13bb0130ca4"}}';

const BODY = '[[2, 2], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]';

function message(overrides: Partial<TransportMessage> = {}): TransportMessage {
  return {
    body: Buffer.from(BODY),
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: { lang: 'py', task: 'tasks.add', id: 'id-1', retries: 0, timelimit: [null, null] },
    properties: { correlationId: 'id-1', replyTo: 'oid-1', deliveryMode: 2, priority: 5 },
    ...overrides,
  };
}

describe('kombu envelope', () => {
  it('decodes an envelope written by Python kombu', () => {
    const decoded = decodeEnvelope(PYTHON_ENVELOPE);
    expect(decoded.error).toBeUndefined();
    expect(decoded.message.body.toString('utf8')).toBe(BODY);
    expect(decoded.message.contentType).toBe('application/json');
    expect(decoded.message.contentEncoding).toBe('utf-8');
    expect(decoded.message.headers.id).toBe('cb4c46b2-29d0-4b38-8cc0-74d4b48b4c8d');
    expect(decoded.message.headers.timelimit).toEqual([null, null]);
    expect(decoded.message.properties).toEqual({
      correlationId: 'cb4c46b2-29d0-4b38-8cc0-74d4b48b4c8d',
      replyTo: '0e863aa0-5224-3920-8dc9-24c8ea5489f2',
      deliveryMode: 2,
      expiration: '60000',
      priority: 5,
    });
    expect(decoded.deliveryInfo).toEqual({ exchange: '', routingKey: 'capq1', redelivered: false });
    expect(decoded.deliveryTag).toBe('2c2b2e62-2739-45e6-9164-d13bb0130ca4');
  });

  it('re-encodes a Python envelope to the same text, byte for byte', () => {
    const decoded = decodeEnvelope(PYTHON_ENVELOPE);
    const again = encodeEnvelope(decoded.message, { exchange: '', routing_key: 'capq1' }, decoded.deliveryTag!);
    expect(again).toBe(PYTHON_ENVELOPE);
    const props = (loads(again) as { properties: object }).properties;
    expect(Object.keys(props)).toEqual([
      'correlation_id',
      'reply_to',
      'delivery_mode',
      'expiration',
      'delivery_info',
      'priority',
      'body_encoding',
      'delivery_tag',
    ]);
  });

  it('writes defaults the way kombu does: delivery_mode 2, priority 0, no expiration, extras before delivery_mode', () => {
    const raw = encodeEnvelope(
      message({ properties: { correlationId: 'c', replyTo: 'r', replaced_task_nesting: 1 } }),
      { exchange: 'ex', routing_key: 'rk' },
      'tag-1',
    );
    const env = loads(raw) as Record<string, Record<string, unknown>>;
    expect(Object.keys(env)).toEqual(['body', 'content-encoding', 'content-type', 'headers', 'properties']);
    expect(env.properties).toEqual({
      correlation_id: 'c',
      reply_to: 'r',
      replaced_task_nesting: 1,
      delivery_mode: 2,
      delivery_info: { exchange: 'ex', routing_key: 'rk' },
      priority: 0,
      body_encoding: 'base64',
      delivery_tag: 'tag-1',
    });
    expect(Object.keys(env.properties)[2]).toBe('replaced_task_nesting');
  });

  it('round-trips any message (property test)', () => {
    // JSON values both sides agree on: safe integers only (floats and big ints are json.ts's concern)
    const { json } = fc.letrec<{ json: unknown }>((tie) => ({
      json: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constant(null),
        fc.boolean(),
        fc.integer(),
        fc.string(),
        fc.array(tie('json'), { maxLength: 4 }),
        fc.dictionary(
          fc.string().filter((k) => k !== '__proto__'),
          tie('json'),
          { maxKeys: 4 },
        ),
      ),
    }));
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.dictionary(
          fc.string().filter((k) => k !== '__proto__'),
          json,
        ),
        fc.record(
          {
            correlationId: fc.uuid(),
            replyTo: fc.string(),
            deliveryMode: fc.constantFrom<1 | 2>(1, 2),
            priority: fc.integer({ min: 0, max: 255 }),
            expiration: fc.nat().map(String),
          },
          { requiredKeys: [] },
        ),
        fc.string(),
        fc.string(),
        (body, headers, properties, exchange, routingKey) => {
          const msg: TransportMessage = {
            body: Buffer.from(body),
            contentType: 'application/x-msgpack',
            contentEncoding: 'binary',
            headers,
            properties,
          };
          const decoded = decodeEnvelope(encodeEnvelope(msg, { exchange, routing_key: routingKey }, 'the-tag'));
          expect(decoded.error).toBeUndefined();
          expect(decoded.message.body.equals(msg.body)).toBe(true);
          expect(decoded.message.headers).toEqual(headers);
          expect(decoded.message.properties).toEqual({ deliveryMode: 2, priority: 0, ...properties });
          expect(decoded.deliveryInfo).toEqual({ exchange, routingKey, redelivered: false });
          expect(decoded.deliveryTag).toBe('the-tag');
        },
      ),
    );
  });

  it('throws a DecodeError for text that is not JSON or not an object', () => {
    expect(() => decodeEnvelope('{"body": ')).toThrow(DecodeError);
    expect(() => decodeEnvelope('not json at all')).toThrow(/not valid JSON/);
    expect(() => decodeEnvelope('[1, 2, 3]')).toThrow(/must be a JSON object/);
  });

  it('reports a body that is not strict base64 but keeps the headers (task id) readable', () => {
    const env = loads(PYTHON_ENVELOPE) as { body: string };
    for (const bad of ['W1syLCAy!!!', 'W1syLCAyXSw', 'W1sy\nLCAy', 'W1s=yLCA', 'W1sy-CAy', 'W1sy_CAy', 'W===', 'W1syLCA ']) {
      env.body = bad;
      const decoded = decodeEnvelope(dumps(env));
      expect(decoded.error).toBeInstanceOf(DecodeError);
      expect(decoded.error!.message).toMatch(/not valid base64/);
      expect(decoded.error!.taskId).toBe('cb4c46b2-29d0-4b38-8cc0-74d4b48b4c8d');
      expect(decoded.message.headers.task).toBe('tasks.add');
      expect(decoded.message.body.length).toBe(0);
      expect(decoded.deliveryTag).toBe('2c2b2e62-2739-45e6-9164-d13bb0130ca4');
    }
  });

  it('reports a missing delivery_tag', () => {
    const env = loads(PYTHON_ENVELOPE) as { properties: Record<string, unknown> };
    delete env.properties.delivery_tag;
    const decoded = decodeEnvelope(dumps(env));
    expect(decoded.deliveryTag).toBeUndefined();
    expect(decoded.error!.message).toMatch(/delivery_tag is missing/);
    expect(decoded.message.body.toString()).toBe(BODY);
  });

  it('reports missing properties and an unknown body_encoding', () => {
    expect(decodeEnvelope('{"body": "", "headers": {"id": "x"}}').error!.message).toMatch(/"properties" is missing/);
    const env = loads(PYTHON_ENVELOPE) as { properties: Record<string, unknown> };
    env.properties.body_encoding = 'rot13';
    expect(decodeEnvelope(dumps(env)).error!.message).toMatch(/unsupported body_encoding "rot13"/);
  });

  it('takes the body raw when body_encoding is absent (kombu transport option body_encoding=None)', () => {
    const env = loads(PYTHON_ENVELOPE) as { body: string; properties: Record<string, unknown> };
    env.body = BODY;
    delete env.properties.body_encoding;
    const decoded = decodeEnvelope(dumps(env));
    expect(decoded.error).toBeUndefined();
    expect(decoded.message.body.toString()).toBe(BODY);
  });

  it('stores and reads the unacked triple, and marks restores as redelivered like kombu', () => {
    const entry = encodeUnackedEntry(PYTHON_ENVELOPE, '', 'capq1');
    expect(entry).toBe(`[${PYTHON_ENVELOPE}, "", "capq1"]`);
    const read = decodeUnackedEntry(entry);
    expect(read.exchange).toBe('');
    expect(read.routingKey).toBe('capq1');
    const restored = decodeEnvelope(redeliveredEnvelope(read.envelope));
    expect(restored.deliveryInfo.redelivered).toBe(true);
    expect(restored.message.headers.redelivered).toBe(true);
    expect(restored.deliveryTag).toBe('2c2b2e62-2739-45e6-9164-d13bb0130ca4');
    expect(() => decodeUnackedEntry('[1, 2]')).toThrow(DecodeError);
  });

  describe('large bodies (issue 11: a 3.5 MiB body overflowed the regexp stack and was dropped)', () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 'x');
    const encoded = () =>
      encodeEnvelope(
        { body: big, contentType: 'application/json', contentEncoding: 'utf-8', headers: { id: 'big-1', task: 't' }, properties: {} },
        { exchange: '', routing_key: 'q' },
        'tag-1',
      );

    it('decodes an 8 MiB body', () => {
      const decoded = decodeEnvelope(encoded());
      expect(decoded.error).toBeUndefined();
      expect(decoded.message.body.equals(big)).toBe(true);
    });

    it('over maxBodyBytes: the body is skipped unread, the rest is read, the error names the task', () => {
      const decoded = decodeEnvelope(encoded(), 1024);
      expect(decoded.error).toBeInstanceOf(MessageTooLargeError);
      expect(decoded.error!.taskId).toBe('big-1');
      expect(decoded.error!.message).toMatch(/over the 1024-byte body limit \(maxMessageBytes\) for task big-1/);
      expect(decoded.message.body.length).toBe(0);
      expect(decoded.message.headers).toEqual({ id: 'big-1', task: 't' });
      expect(decoded.deliveryTag).toBe('tag-1');
      expect(decoded.deliveryInfo.routingKey).toBe('q');
    });

    it('skips a body wherever it is, past members with escaped quotes and nesting', () => {
      const raw = `{"headers": {"id": "i\\"d", "a": [1, {"b": "}]"}]}, "body": "${'A'.repeat(2 * 1024 * 1024)}", "properties": {"delivery_tag": "t"}}`;
      const decoded = decodeEnvelope(raw, 16);
      expect(decoded.error).toBeInstanceOf(MessageTooLargeError);
      expect(decoded.message.headers).toEqual({ id: 'i"d', a: [1, { b: '}]' }] });
      expect(decoded.deliveryTag).toBe('t');
    });

    it('under the limit it is decoded as usual', () => {
      expect(decodeEnvelope(encoded(), 8 * 1024 * 1024).error).toBeUndefined();
    });
  });
});

describe('envelope header bounds', () => {
  const envelope = (headers: unknown, raw = JSON.stringify(headers)) =>
    `{"body": "", "content-encoding": "utf-8", "content-type": "application/json", "headers": ${raw}, "properties": {"delivery_tag": "tag", "delivery_info": {"exchange": "", "routing_key": "q"}}}`;

  test('headers nested deeper than maxHeaderDepth are reported (with the task id), not walked recursively', () => {
    // written by hand: JSON.stringify itself overflows on it
    const deep = '['.repeat(10_000) + '"x"' + ']'.repeat(10_000);
    const decoded = decodeEnvelope(envelope(null, `{"id": "t-deep", "deep": ${deep}}`));
    expect(decoded.error).toBeInstanceOf(DecodeError);
    expect(decoded.error!.taskId).toBe('t-deep');
    expect(decoded.error!.message).toMatch(/nested deeper than 32 levels \(maxHeaderDepth\)/);
  });

  test('more values than maxHeaderValues are reported; the bounds are options; ordinary headers pass', () => {
    const many = decodeEnvelope(envelope({ id: 't', list: Array.from({ length: 20_000 }, (_, i) => i) }));
    expect(many.error!.message).toMatch(/more than 10000 values \(maxHeaderValues\)/);
    expect(decodeEnvelope(envelope({ id: 't', a: [[[1]]] }), undefined, { maxDepth: 2, maxValues: 100 }).error!.message).toMatch(/deeper than 2 levels/);
    expect(decodeEnvelope(envelope({ id: 't', a: [[[1]]], stamps: { s: ['x'] } })).error).toBeUndefined();
  });
});
