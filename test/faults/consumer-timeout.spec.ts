/**
 * Fault: RabbitMQ's consumer_timeout, set to 4 s on a private broker (checked every 0.5 s).
 * 500 ETA tasks wait 12 s and 5 late-ack tasks run 7 s each: without the worker's
 * consumerTimeoutMs guard RabbitMQ closes the channel and redelivers all of them (reruns).
 * With it, ETA tasks are republished before the timeout and long tasks acked, so the channel
 * stays up and every task runs exactly once with its own SUCCESS.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { describeWithPrivateBrokers, startPrivateRabbitMq, startPrivateRedis, type PrivateRabbitMq, type PrivateRedis } from '../support/private-broker.js';
import { uniqueName } from '../support/services.js';
import { RunLog, awaitOutcomes, expectAllSucceeded, expectRuns, preload } from './support.js';

const describeFaults = describeWithPrivateBrokers('fault: RabbitMQ consumer_timeout', 'rabbitmq', 'redis');
const N = 500;
const TIMEOUT_MS = 4000;

describeFaults('fault: consumer_timeout 4 s with 12 s ETAs and 7 s late-ack tasks', () => {
  const queue = uniqueName('faults.consumer-timeout');
  let rabbit: PrivateRabbitMq;
  let redis: PrivateRedis;
  let app: Celery | undefined;
  let worker: Worker | undefined;
  let runs: RunLog | undefined;

  beforeAll(async () => {
    [rabbit, redis] = await Promise.all([
      startPrivateRabbitMq({ port: 5715, conf: [`consumer_timeout = ${TIMEOUT_MS}`], advanced: '[{rabbit, [{channel_tick_interval, 500}]}].\n' }),
      startPrivateRedis({ port: 6405 }),
    ]);
  }, 180_000);
  afterAll(async () => {
    await worker?.stop(1000).catch(() => undefined);
    await app?.close().catch(() => undefined);
    runs?.close();
    await Promise.all([rabbit?.stop(), redis?.stop()]);
  }, 120_000);

  test('the channel is never timed out and every task runs once', async () => {
    runs = new RunLog(redis.url());
    const log = runs;
    const ids = await preload(rabbit.url, queue, N, { countdown: 12 });
    app = new Celery({ broker: rabbit.url, backend: redis.url(), taskDefaultQueue: queue, resultExpires: 900, logger: silentLogger });
    const slow = await Promise.all(Array.from({ length: 5 }, (_, i) => app!.sendTask('fault.slow', [i], {}, { awaitResult: false })));
    const warnings: string[] = [];
    worker = new Worker(app, { concurrency: 10, consumerTimeoutMs: TIMEOUT_MS, logger: { ...silentLogger, warn: (m: string) => void warnings.push(m) } });
    worker.register('fault.add', async ([x, y], _kw, ctx) => {
      await log.record(ctx.id);
      return (x as number) + (y as number);
    });
    worker.register('fault.slow', async ([i], _kw, ctx) => {
      await log.record(ctx.id);
      await new Promise((r) => setTimeout(r, 7000));
      return i;
    });
    await worker.start();

    const all = await awaitOutcomes(redis.url(), ids, 120_000);
    expectAllSucceeded(all);
    const slowOutcomes = await awaitOutcomes(
      redis.url(),
      slow.map((r) => r.id),
      60_000,
    );
    expect(slowOutcomes.map((o) => o?.status)).toEqual(Array(5).fill('SUCCESS'));
    await expectRuns(runs, [...ids, ...slow.map((r) => r.id)], 0);
    // the long tasks were acked before the timeout, with one line each
    expect(warnings.filter((w) => /near the broker's consumer timeout/.test(w))).toHaveLength(5);
    // RabbitMQ never had to close a channel over it
    const logs = readdirSync(join(rabbit.dir, 'log'))
      .filter((f) => f.endsWith('.log'))
      .map((f) => readFileSync(join(rabbit.dir, 'log', f), 'utf8'))
      .join('\n');
    expect(logs).not.toMatch(/timed out waiting for delivery acknowledgement/);
  }, 240_000);
});
