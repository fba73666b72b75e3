/**
 * Fault: RabbitMQ and then Redis restart in the middle of a 10,000-task run (RabbitMQ broker,
 * Redis results). Every task ends with exactly one stored outcome — its own SUCCESS — and none
 * is lost: unacked deliveries come back after the RabbitMQ restart, and results computed while
 * Redis is down are stored once it returns.
 */
import amqp from 'amqplib';
import { silentLogger, type CeleryLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import type { ConnectionStatus } from '../../libs/nestjs-celery/src/transport/connection-status.js';
import { deleteQueues } from '../support/cleanup.js';
import { ensureBrokersUp, restartRabbitMq, restartRedis } from '../support/service-control.js';
import { AMQP_URL, REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';
import { awaitOutcomes, expectAllSucceeded, preload } from './support.js';

const describeFaults = await describeIfAvailable('fault: broker restarts mid-run', 'rabbitmq', 'redis');
const N = 10_000;

describeFaults('fault: RabbitMQ then Redis restart during a 10,000-task run', () => {
  const queue = uniqueName('faults.restart');
  let app: Celery;
  let worker: Worker;
  const brokerStatus: ConnectionStatus[] = [];
  const backendStatus: ConnectionStatus[] = [];
  let runs = 0;

  afterAll(async () => {
    await ensureBrokersUp();
    await worker?.stop(1000).catch(() => undefined);
    await app?.close().catch(() => undefined);
    await deleteQueues(AMQP_URL, [queue]).catch(() => undefined);
  }, 120_000);

  test('every task ends with its own SUCCESS, none lost, and the outages were reported', async () => {
    const ids = await preload(AMQP_URL, queue, N);
    const logger: CeleryLogger = { ...silentLogger };
    app = new Celery({ broker: AMQP_URL, backend: REDIS_URL, taskDefaultQueue: queue, resultExpires: 900, logger });
    app.broker.status$.subscribe((s) => brokerStatus.push(s));
    app.backend!.status$.subscribe((s) => backendStatus.push(s));
    worker = new Worker(app, { concurrency: 10, storeTimeoutMs: 120_000, logger });
    worker.register('fault.add', async ([x, y]) => {
      runs++;
      await new Promise((r) => setTimeout(r, 8));
      return (x as number) + (y as number);
    });
    await worker.start();

    const until = async (count: number) => {
      while (worker.processedCount < count) await new Promise((r) => setTimeout(r, 20));
    };
    await until(N * 0.2);
    await restartRabbitMq(1000);
    await until(N * 0.5);
    await restartRedis(1000);

    const all = await awaitOutcomes(ids, 240_000);
    expectAllSucceeded(all);
    // redelivery after the restart may run a task twice; its outcome stays the one SUCCESS
    expect(runs).toBeGreaterThanOrEqual(N);

    // the outages were seen and recovered from
    expect(brokerStatus).toContain('disconnected');
    expect(brokerStatus.at(-1)).toBe('connected');
    expect(backendStatus.some((s) => s === 'disconnected' || s === 'reconnecting')).toBe(true);
    expect(backendStatus.at(-1)).toBe('connected');

    // nothing left behind in the queue
    const conn = await amqp.connect(AMQP_URL);
    const ch = await conn.createChannel();
    const { messageCount } = await ch.checkQueue(queue);
    await conn.close();
    expect(messageCount).toBe(0);
  }, 300_000);
});
