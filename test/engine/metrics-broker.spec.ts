/**
 * Metrics on real brokers (RabbitMQ and Redis, Redis results): counts by task and queue, runtime
 * and queue-wait observations, the active and prefetched gauges rising and back at 0, connections.
 */
import { Registry } from 'prom-client';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { deleteQueues } from '../support/cleanup.js';
import { eventually } from '../support/eventually.js';
import { metricValue as value } from '../support/metrics.js';
import { AMQP_URL, REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';

const describeBrokers = await describeIfAvailable('metrics on real brokers', 'redis', 'rabbitmq');
const BROKERS = { rabbitmq: AMQP_URL, redis: REDIS_URL } as const;

describeBrokers.each(Object.keys(BROKERS) as (keyof typeof BROKERS)[])('metrics over %s', (brokerName) => {
  const brokerUrl = BROKERS[brokerName];
  const queue = uniqueName('metrics');

  afterAll(async () => {
    await deleteQueues(brokerUrl, [queue]);
  }, 60_000);

  test('counts, histograms and gauges follow real runs, and the gauges come back to 0', async () => {
    const registry = new Registry();
    const app = new Celery({ broker: brokerUrl, backend: REDIS_URL, taskDefaultQueue: queue, logger: silentLogger, metrics: { registry } });
    const worker = new Worker(app, { logger: silentLogger, concurrency: 2 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    worker.register('metrics.held', async () => {
      await gate;
      return 'ok';
    });
    worker.register('metrics.fail', () => {
      throw new Error('nope');
    });
    await worker.start();
    const labels = { queue };
    try {
      // ETA tasks wait in the worker: prefetched until due (they widen the prefetch window)
      const later = await Promise.all([1, 2].map(() => app.sendTask('metrics.held', [], {}, { countdown: 5 })));
      await eventually(async () => (await value(registry, 'celery_worker_tasks_prefetched')) === 2, 'two ETA tasks held', 60_000);
      const held = await Promise.all([app.sendTask('metrics.held'), app.sendTask('metrics.held')]);
      // whichever pair gets the two slots, it waits for the gate
      await eventually(async () => (await value(registry, 'celery_worker_tasks_active')) === 2, 'two tasks running', 60_000);
      release();
      for (const r of [...held, ...later]) await expect(r.get({ timeout: 60_000 })).resolves.toBe('ok');
      await expect((await app.sendTask('metrics.fail')).get({ timeout: 60_000 })).rejects.toThrow(/nope/);
      await eventually(async () => (await value(registry, 'celery_task_runtime_seconds', labels, '_count')) === 5, 'five runtimes', 60_000);

      expect(await value(registry, 'celery_tasks_published_total', { task: 'metrics.held', ...labels })).toBe(4);
      expect(await value(registry, 'celery_tasks_received_total', { task: 'metrics.held', ...labels })).toBe(4);
      expect(await value(registry, 'celery_tasks_started_total', labels)).toBe(5);
      expect(await value(registry, 'celery_tasks_succeeded_total', { task: 'metrics.held', ...labels })).toBe(4);
      expect(await value(registry, 'celery_tasks_failed_total', { task: 'metrics.fail', ...labels })).toBe(1);
      expect(await value(registry, 'celery_task_queue_wait_seconds', labels, '_count')).toBe(5);
      // the held pair ran at least as long as it took to see both running
      expect(await value(registry, 'celery_task_runtime_seconds', { task: 'metrics.held', ...labels }, '_sum')).toBeGreaterThan(0);
      expect(await value(registry, 'celery_worker_tasks_active')).toBe(0);
      expect(await value(registry, 'celery_worker_tasks_prefetched')).toBe(0);
      expect(await value(registry, 'celery_connections', { component: 'broker', state: 'connected' })).toBe(1);
      expect(await value(registry, 'celery_connections', { component: 'backend', state: 'connected' })).toBe(1);
    } finally {
      release();
      await worker.stop();
      await app.close();
    }
    expect(await value(registry, 'celery_connections', { state: 'connected' })).toBe(0);
  }, 180_000);
});
