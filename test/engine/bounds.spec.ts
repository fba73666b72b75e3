/**
 * Bounds over the real brokers (issue 12): a message over a bound gets one clear log line,
 * FAILURE when its id is known, is rejected, and the consumer and the connection stay up.
 * The AMQP case sends the 10,000 nested header arrays as raw frames (no client library
 * would encode them), which used to close the connection in a reconnect loop.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import amqplib from 'amqplib';
import { firstValueFrom } from 'rxjs';
import { Redis } from 'ioredis';
import type { CeleryLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import type { ResultMeta } from '../../libs/nestjs-celery/src/protocol/result-meta.js';
import type { ConnectionStatus } from '../../libs/nestjs-celery/src/transport/connection-status.js';
import { deleteQueues } from '../support/cleanup.js';
import { AMQP_URL, REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';
import { BROTLI_1GIB, nestedHeaderFrame, yamlTaskBomb } from '../fuzz/bombs.js';

const describeBrokers = await describeIfAvailable('bounds over real brokers', 'redis', 'rabbitmq');

const require = createRequire(import.meta.url);
const defs = require(join(dirname(require.resolve('amqplib')), 'lib', 'defs.js')) as {
  BasicPublish: number;
  encodeMethod(id: number, channel: number, fields: Record<string, unknown>): Buffer;
};

const v2 = (id: string, extra: Record<string, unknown> = {}) => ({
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
  ...extra,
});

describeBrokers.each([
  ['rabbitmq', AMQP_URL],
  ['redis', REDIS_URL],
])('bounds on %s', (brokerName, brokerUrl) => {
  const queue = uniqueName(`bounds.${brokerName}`);
  const lines: string[] = [];
  const logger: CeleryLogger = { log() {}, debug() {}, warn: (m) => lines.push(m), error: (m) => lines.push(m) };
  const statuses: ConnectionStatus[] = [];
  let app: Celery;
  let worker: Worker;

  beforeAll(async () => {
    app = new Celery({ broker: brokerUrl, backend: REDIS_URL, taskDefaultQueue: queue, logger, acceptContent: ['json', 'yaml'] });
    worker = new Worker(app, { logger, concurrency: 4 });
    worker.register('t.ok', () => 'ok');
    await worker.start();
    app.broker.status$.subscribe((s) => statuses.push(s));
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await deleteQueues(brokerUrl, [queue]);
  }, 60_000);

  const publishRaw = (body: string | Buffer, contentType: string, headers: Record<string, unknown>) =>
    app.broker.publish(
      {
        body: Buffer.isBuffer(body) ? body : Buffer.from(body),
        contentType,
        contentEncoding: 'utf-8',
        headers,
        properties: { correlationId: String(headers.id), replyTo: app.oid, deliveryMode: 2 },
      },
      { exchange: '', routingKey: queue },
    );

  /** Send the bad message, then a good task; the good one runs and the bad one's FAILURE comes back. */
  async function expectRefused(id: string, send: () => Promise<unknown>, excType: string): Promise<void> {
    const watched = firstValueFrom(app.asyncResult(id).state$);
    await app.backend!.onTaskCall(id);
    const linesBefore = lines.length;
    await send();
    const after = await app.sendTask('t.ok');
    await expect(after.get({ timeout: 30_000 })).resolves.toBe('ok');
    const meta: ResultMeta = await watched;
    expect(meta.status).toBe('FAILURE');
    expect(meta.result).toMatchObject({ exc_type: excType });
    const refusals = lines.slice(linesBefore).filter((l) => l.includes('rejected message'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toContain(id);
  }

  test('a 1 GiB brotli bomb is refused at the decompression limit', async () => {
    const id = uniqueName('brotli');
    const rss = process.memoryUsage().rss;
    await expectRefused(id, () => publishRaw(BROTLI_1GIB, 'application/json', v2(id, { compression: 'application/x-brotli' })), 'MessageTooLarge');
    expect(process.memoryUsage().rss - rss).toBeLessThan(512 * 1024 * 1024);
  }, 60_000);

  test('a YAML alias bomb is refused', async () => {
    const id = uniqueName('yaml');
    await expectRefused(id, () => publishRaw(yamlTaskBomb(), 'application/x-yaml', v2(id)), 'DecodeError');
  }, 60_000);

  test('a 1 MB task name is refused (FAILURE stored), no log line carries it', async () => {
    const id = uniqueName('name');
    // protocol 1 (the name in the body): an AMQP headers table could not carry a megabyte
    const body = JSON.stringify({ task: 'n'.repeat(1024 * 1024), id, args: [], kwargs: {} });
    await expectRefused(id, () => publishRaw(body, 'application/json', { id }), 'InvalidTaskError');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(10_000);
  }, 60_000);

  test('headers nested deeper than the bound are refused, the connection stays up', async () => {
    const id = uniqueName('deep');
    if (brokerName === 'rabbitmq') {
      // the 10,000 nested arrays, as raw frames on a connection of our own
      const conn = await amqplib.connect(AMQP_URL);
      try {
        const ch = await conn.createChannel();
        const channelNo = (ch as unknown as { ch: number }).ch;
        const method = defs.encodeMethod(defs.BasicPublish, channelNo, { ticket: 0, exchange: '', routingKey: queue, mandatory: false, immediate: false });
        await expectRefused(
          id,
          async () => {
            (conn as unknown as { connection: { stream: { write(b: Buffer): boolean } } }).connection.stream.write(
              Buffer.concat([method, nestedHeaderFrame(10_000, id, channelNo)]),
            );
            await ch.checkQueue(queue); // a round trip on the same channel: the publish went first
          },
          'DecodeError',
        );
      } finally {
        await conn.close().catch(() => undefined);
      }
    } else {
      const redis = new Redis(REDIS_URL);
      try {
        const deep = '['.repeat(10_000) + '"x"' + ']'.repeat(10_000);
        const headers = JSON.stringify(v2(id)).replace(/}$/, `, "deep": ${deep}}`);
        const envelope =
          `{"body": "W1tdLCB7fSwgbnVsbF0=", "content-encoding": "utf-8", "content-type": "application/json", "headers": ${headers}, ` +
          `"properties": {"correlation_id": "${id}", "reply_to": "${app.oid}", "delivery_mode": 2, "delivery_info": {"exchange": "", "routing_key": "${queue}"}, "priority": 0, "body_encoding": "base64", "delivery_tag": "${uniqueName('tag')}"}}`;
        await expectRefused(id, () => redis.lpush(queue, envelope), 'DecodeError');
      } finally {
        redis.disconnect();
      }
    }
    expect(lines.join('\n')).toMatch(/nested deeper than 32 levels \(maxHeaderDepth\)/);
    expect(statuses.filter((s) => s !== 'connected')).toEqual([]);
  }, 60_000);
});
