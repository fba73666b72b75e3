/**
 * Bad input over the real brokers: each bad message gets one clear log line and a defined fate
 * (rejected; FAILURE stored when the task id is known), the consumer keeps running, and the
 * valid messages around it are all processed.
 */
import { firstValueFrom } from 'rxjs';
import { Redis } from 'ioredis';
import type { CeleryLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import type { ResultMeta } from '../../libs/nestjs-celery/src/protocol/result-meta.js';
import { deleteQueues } from '../support/cleanup.js';
import { AMQP_URL, REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';

const describeBrokers = await describeIfAvailable('bad input over real brokers', 'redis', 'rabbitmq');

type Bad = { what: string; body: string | Buffer; contentType?: string; headers?: (id: string) => Record<string, unknown>; excType?: string };

const v2 = (id: string) => ({
  lang: 'py',
  task: 't.ok',
  id,
  root_id: id,
  parent_id: null,
  group: null,
  retries: 0,
  timelimit: [null, null],
  eta: null,
  expires: null,
});
const BAD: Bad[] = [
  { what: 'invalid JSON', body: '[[1], {}, {"callbacks": nul', headers: v2, excType: 'DecodeError' },
  { what: 'a body that is not a 3-element array', body: '[[1], {}]', headers: v2, excType: 'InvalidTaskError' },
  { what: 'args that are not a list', body: '["x", {}, null]', headers: v2, excType: 'InvalidTaskError' },
  { what: 'an unknown content type', body: 'a,b', contentType: 'text/csv', headers: v2, excType: 'ContentDisallowed' },
  {
    what: 'a pickle body',
    body: Buffer.from('80049505000000000000004b012e', 'hex'),
    contentType: 'application/x-python-serialize',
    headers: v2,
    excType: 'ContentDisallowed',
  },
  { what: 'an unparseable eta', body: '[[], {}, null]', headers: (id) => ({ ...v2(id), eta: 'tomorrow-ish' }), excType: 'InvalidTaskError' },
  { what: 'an oversized message', body: JSON.stringify([['x'.repeat(4096)], {}, null]), headers: v2, excType: 'MessageTooLarge' },
  // over the limit by more than the envelope's headroom: on Redis refused before its body is decoded
  { what: 'an oversized envelope', body: JSON.stringify([['x'.repeat(2 * 1024 * 1024)], {}, null]), headers: v2, excType: 'MessageTooLarge' },
  { what: 'a missing id header', body: '[[], {}, null]', headers: () => ({ lang: 'py', task: 't.ok' }) },
];

describeBrokers.each([
  ['rabbitmq', AMQP_URL],
  ['redis', REDIS_URL],
])('bad input on %s', (brokerName, brokerUrl) => {
  const queue = uniqueName(`bad.${brokerName}`);
  const lines: string[] = [];
  const logger: CeleryLogger = { log() {}, debug() {}, warn: (m) => lines.push(m), error: (m) => lines.push(m) };
  let app: Celery;
  let worker: Worker;
  let okRuns = 0;

  beforeAll(async () => {
    app = new Celery({ broker: brokerUrl, backend: REDIS_URL, taskDefaultQueue: queue, logger });
    worker = new Worker(app, { logger, maxMessageBytes: 2048, concurrency: 4 });
    worker.register('t.ok', () => ++okRuns);
    await worker.start();
  });
  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await deleteQueues(brokerUrl, [queue]);
  });

  const publishRaw = (body: string | Buffer, contentType: string, headers: Record<string, unknown>) =>
    app.broker.publish(
      {
        body: Buffer.isBuffer(body) ? body : Buffer.from(body),
        contentType,
        contentEncoding: 'utf-8',
        headers,
        properties: { correlationId: (headers.id as string | undefined) ?? 'x', replyTo: app.oid, deliveryMode: 2 },
      },
      { exchange: '', routingKey: queue },
    );

  test.each(BAD)('$what: one log line, its fate, and the valid messages around it all run', async ({ body, contentType, headers, excType }) => {
    const before = await app.sendTask('t.ok');
    const id = uniqueName('bad-id');
    const watched = excType ? firstValueFrom(app.asyncResult(id).state$) : undefined;
    if (excType) await app.backend!.onTaskCall(id);
    const linesBefore = lines.length;
    await publishRaw(body, contentType ?? 'application/json', headers!(id));
    const after = await app.sendTask('t.ok');
    await expect(before.get({ timeout: 10_000 })).resolves.toEqual(expect.any(Number));
    await expect(after.get({ timeout: 10_000 })).resolves.toEqual(expect.any(Number));
    if (watched) {
      const meta: ResultMeta = await watched;
      expect(meta.status).toBe('FAILURE');
      expect(meta.result).toMatchObject({ exc_type: excType });
    }
    const newLines = lines.slice(linesBefore).filter((l) => l.includes('rejected message'));
    expect(newLines).toHaveLength(1);
    if (excType) expect(newLines[0]).toContain(id);
  });

  if (brokerName === 'redis') {
    test('kombu envelopes that are not JSON, or whose body is not base64, are refused and the loop goes on', async () => {
      const redis = new Redis(REDIS_URL);
      try {
        const id = uniqueName('bad-b64');
        const watched = firstValueFrom(app.asyncResult(id).state$);
        await app.backend!.onTaskCall(id);
        const linesBefore = lines.length;
        await redis.lpush(queue, '{"body": "not json at all');
        const envelope = {
          body: '!!!not base64!!!',
          'content-encoding': 'utf-8',
          'content-type': 'application/json',
          headers: v2(id),
          properties: {
            correlation_id: id,
            reply_to: app.oid,
            delivery_mode: 2,
            delivery_info: { exchange: '', routing_key: queue },
            priority: 0,
            body_encoding: 'base64',
            delivery_tag: uniqueName('tag'),
          },
        };
        await redis.lpush(queue, JSON.stringify(envelope));
        const after = await app.sendTask('t.ok');
        await expect(after.get({ timeout: 10_000 })).resolves.toEqual(expect.any(Number));
        expect((await watched).status).toBe('FAILURE');
        expect(lines.length - linesBefore).toBeGreaterThanOrEqual(2);
        expect(await redis.llen(queue)).toBe(0);
      } finally {
        redis.disconnect();
      }
    });
  }

  test('nothing else is lost: 200 valid messages after all that are each run once', async () => {
    const start = okRuns;
    const results = await Promise.all(Array.from({ length: 200 }, () => app.sendTask<number>('t.ok')));
    const values = await Promise.all(results.map((r) => r.get({ timeout: 20_000 })));
    expect(new Set(values).size).toBe(200);
    expect(okRuns - start).toBe(200);
  });
});
