/**
 * Fault: the network between the worker and RabbitMQ is cut (connections reset, new ones refused
 * for 2 s) in the middle of a 3,000-task run, through a TCP proxy the test controls. The worker
 * reconnects; every task ends with its own SUCCESS, and only what was in flight at the cut
 * (prefetch = concurrency 10) may run twice. Private RabbitMQ and Redis.
 */
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { describeWithPrivateBrokers, startPrivateRabbitMq, startPrivateRedis, type PrivateRabbitMq, type PrivateRedis } from '../support/private-broker.js';
import { uniqueName } from '../support/services.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { RunLog, awaitOutcomes, expectAllSucceeded, expectRuns, preload, queueCounts, until } from './support.js';

const describeFaults = describeWithPrivateBrokers('fault: network cut between worker and broker', 'rabbitmq', 'redis');
const N = 3000;

describeFaults('fault: network cut between the worker and RabbitMQ during a 3,000-task run', () => {
  const queue = uniqueName('faults.cut');
  let rabbit: PrivateRabbitMq;
  let redis: PrivateRedis;
  const proxy = new TcpProxy(5717, 5714);
  let app: Celery | undefined;
  let worker: Worker | undefined;
  let runs: RunLog | undefined;

  beforeAll(async () => {
    [rabbit, redis] = await Promise.all([startPrivateRabbitMq({ port: 5714 }), startPrivateRedis({ port: 6407 })]);
    await proxy.start();
  }, 180_000);
  afterAll(async () => {
    await worker?.stop(1000).catch(() => undefined);
    await app?.close().catch(() => undefined);
    runs?.close();
    await proxy.stop();
    await Promise.all([rabbit?.stop(), redis?.stop()]);
  }, 120_000);

  test('the worker reconnects; every task has its own SUCCESS, reruns only of what was in flight', async () => {
    runs = new RunLog(redis.url());
    const log = runs;
    const ids = await preload(rabbit.url, queue, N);
    app = new Celery({ broker: `amqp://guest:guest@${proxy.url}//`, backend: redis.url(), taskDefaultQueue: queue, resultExpires: 900, logger: silentLogger });
    const statuses: string[] = [];
    app.broker.status$.subscribe((s) => statuses.push(s));
    worker = new Worker(app, { concurrency: 10, logger: silentLogger });
    worker.register('fault.add', async ([x, y], _kw, ctx) => {
      await log.record(ctx.id);
      await new Promise((r) => setTimeout(r, 5));
      return (x as number) + (y as number);
    });
    await worker.start();
    const w = worker;

    await until(() => w.processedCount >= N / 3, 'a third of the run', 120_000);
    proxy.cut();
    await until(() => statuses.includes('disconnected') || statuses.includes('reconnecting'), 'the worker to see the cut', 30_000);
    // the outage itself: the network stays down for 2 s
    await new Promise((r) => setTimeout(r, 2000));
    proxy.restore();

    const all = await awaitOutcomes(redis.url(), ids, 120_000);
    expectAllSucceeded(all);
    await expectRuns(runs, ids, 10);
    expect(proxy.accepted).toBeGreaterThanOrEqual(2);
    await until(
      async () => {
        const c = await queueCounts(rabbit.ctl, queue);
        return c.ready === 0 && c.unacked === 0;
      },
      'an empty queue',
      60_000,
    );
  }, 240_000);
});
