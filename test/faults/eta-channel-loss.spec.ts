/**
 * Fault: RabbitMQ drops the worker's connections while 2,000 countdown tasks wait in its memory.
 * RabbitMQ requeues them and delivers them again after the reconnect; the copies the worker
 * held from the lost channel must be dropped, so every task runs exactly once (none was running
 * when the connection dropped) and ends with its own SUCCESS. Private RabbitMQ and Redis.
 */
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { describeWithPrivateBrokers, startPrivateRabbitMq, startPrivateRedis, type PrivateRabbitMq, type PrivateRedis } from '../support/private-broker.js';
import { uniqueName } from '../support/services.js';
import { RunLog, awaitOutcomes, expectAllSucceeded, expectRuns, preload, queueCounts, until } from './support.js';

const describeFaults = describeWithPrivateBrokers('fault: connection loss with ETA tasks waiting', 'rabbitmq', 'redis');
const N = 2000;
const COUNTDOWN_S = 25;

describeFaults('fault: RabbitMQ connection loss while 2,000 ETA tasks wait', () => {
  const queue = uniqueName('faults.eta-loss');
  let rabbit: PrivateRabbitMq;
  let redis: PrivateRedis;
  let app: Celery | undefined;
  let worker: Worker | undefined;
  let runs: RunLog | undefined;

  beforeAll(async () => {
    [rabbit, redis] = await Promise.all([startPrivateRabbitMq({ port: 5716 }), startPrivateRedis({ port: 6406 })]);
  }, 180_000);
  afterAll(async () => {
    await worker?.stop(1000).catch(() => undefined);
    await app?.close().catch(() => undefined);
    runs?.close();
    await Promise.all([rabbit?.stop(), redis?.stop()]);
  }, 120_000);

  test('every held task runs once after the reconnect and ends with its own SUCCESS', async () => {
    runs = new RunLog(redis.url());
    const log = runs;
    const publishedAt = Date.now();
    const ids = await preload(rabbit.url, queue, N, { countdown: COUNTDOWN_S });
    app = new Celery({ broker: rabbit.url, backend: redis.url(), taskDefaultQueue: queue, resultExpires: 900, logger: silentLogger });
    worker = new Worker(app, { concurrency: 10, logger: silentLogger });
    worker.register('fault.add', async ([x, y], _kw, ctx) => {
      await log.record(ctx.id);
      return (x as number) + (y as number);
    });
    await worker.start();

    // every task delivered and held unacked in the worker's memory
    await until(async () => (await queueCounts(rabbit.ctl, queue)).unacked === N, `${N} ETA tasks held by the worker`, 60_000);
    await rabbit.closeConnections('fault test: connection lost');
    // RabbitMQ requeued them; the reconnected worker holds them again
    await until(
      async () => {
        const c = await queueCounts(rabbit.ctl, queue);
        return c.unacked === N && c.ready === 0;
      },
      `${N} ETA tasks held again after the reconnect`,
      60_000,
    );
    // the whole fault happened while the tasks waited (else this test proves nothing)
    expect(Date.now() - publishedAt).toBeLessThan(COUNTDOWN_S * 1000);
    expect((await runs.counts(ids)).filter((c) => c > 0)).toEqual([]);

    const all = await awaitOutcomes(redis.url(), ids, 120_000);
    expectAllSucceeded(all);
    // none was running when the connection dropped: no rerun is allowed
    await expectRuns(runs, ids, 0);
    await until(async () => (await queueCounts(rabbit.ctl, queue)).unacked === 0, 'every message acked', 60_000);
    expect(await queueCounts(rabbit.ctl, queue)).toEqual({ ready: 0, unacked: 0 });
  }, 240_000);
});
