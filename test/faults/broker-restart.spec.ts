/**
 * Fault: RabbitMQ and then Redis restart in the middle of a 10,000-task run (RabbitMQ broker,
 * Redis results). Every task ends with exactly one stored outcome — its own SUCCESS — and none
 * is lost: unacked deliveries come back after the RabbitMQ restart, and results computed while
 * Redis is down are stored once it returns.
 */
import { silentLogger, type CeleryLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import type { ConnectionStatus } from '../../libs/nestjs-celery/src/transport/connection-status.js';
import { describeWithPrivateBrokers, startPrivateRabbitMq, startPrivateRedis, type PrivateRabbitMq, type PrivateRedis } from '../support/private-broker.js';
import { uniqueName } from '../support/services.js';
import { RunLog, awaitOutcomes, expectAllSucceeded, expectRuns, preload, queueCounts } from './support.js';

const describeFaults = describeWithPrivateBrokers('fault: broker restarts mid-run', 'rabbitmq', 'redis');
const N = 10_000;

describeFaults('fault: RabbitMQ then Redis restart during a 10,000-task run', () => {
  const queue = uniqueName('faults.restart');
  let app: Celery;
  let worker: Worker;
  const brokerStatus: ConnectionStatus[] = [];
  const backendStatus: ConnectionStatus[] = [];
  let rabbit: PrivateRabbitMq;
  let redis: PrivateRedis;
  let runsRedis: PrivateRedis;
  let runs: RunLog | undefined;

  beforeAll(async () => {
    [rabbit, redis, runsRedis] = await Promise.all([
      startPrivateRabbitMq({ port: 5711 }),
      startPrivateRedis({ port: 6402 }),
      startPrivateRedis({ port: 6403 }),
    ]);
  }, 180_000);
  afterAll(async () => {
    await worker?.stop(1000).catch(() => undefined);
    await app?.close().catch(() => undefined);
    runs?.close();
    await Promise.all([rabbit?.stop(), redis?.stop(), runsRedis?.stop()]);
  }, 120_000);

  test('every task ends with its own SUCCESS, none lost, and the outages were reported', async () => {
    const ids = await preload(rabbit.url, queue, N);
    const logger: CeleryLogger = { ...silentLogger };
    // runs are counted on a Redis that does not restart
    const runLog = (runs = new RunLog(runsRedis.url()));
    app = new Celery({ broker: rabbit.url, backend: redis.url(), taskDefaultQueue: queue, resultExpires: 900, logger });
    app.broker.status$.subscribe((s) => brokerStatus.push(s));
    app.backend!.status$.subscribe((s) => backendStatus.push(s));
    worker = new Worker(app, { concurrency: 10, storeTimeoutMs: 120_000, logger });
    worker.register('fault.add', async ([x, y], _kw, ctx) => {
      await runLog.record(ctx.id);
      await new Promise((r) => setTimeout(r, 8));
      return (x as number) + (y as number);
    });
    await worker.start();

    const until = async (count: number) => {
      while (worker.processedCount < count) await new Promise((r) => setTimeout(r, 20));
    };
    await until(N * 0.2);
    await rabbit.restart(1000);
    await until(N * 0.5);
    await redis.restart(1000);

    const all = await awaitOutcomes(redis.url(), ids, 240_000);
    expectAllSucceeded(all);
    // redelivery after the RabbitMQ restart may rerun what was in flight (concurrency 10), its
    // outcome stays the one SUCCESS; results waiting for Redis are stored once, not rerun
    await expectRuns(runLog, ids, 10);

    // the outages were seen and recovered from
    expect(brokerStatus).toContain('disconnected');
    expect(brokerStatus.at(-1)).toBe('connected');
    expect(backendStatus.some((s) => s === 'disconnected' || s === 'reconnecting')).toBe(true);
    expect(backendStatus.at(-1)).toBe('connected');

    // nothing left behind in the queue
    expect(await queueCounts(rabbit.ctl, queue)).toEqual({ ready: 0, unacked: 0 });
  }, 300_000);
});
