/**
 * Celery 5.5's soft shutdown on real brokers: a cold shutdown gives running tasks
 * `softShutdownTimeout` to finish; a task done in time is stored and acked, a longer one is
 * aborted and its (late-acked) message goes back to the queue, where another worker runs it:
 * each task ends with exactly one outcome, nothing lost. Checked first by hand on a Python 5.5.2
 * worker (prefork, task_acks_late, worker_soft_shutdown_timeout=2, SIGQUIT during an 8 s task):
 * "Initiating Soft Shutdown, terminating in 2 seconds", then the message was back in the queue.
 */
import { jest } from '@jest/globals';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { deleteQueues } from '../support/cleanup.js';
import { AMQP_URL, REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';

jest.setTimeout(90_000);
const describeBrokers = await describeIfAvailable('soft shutdown', 'redis', 'rabbitmq');
const BROKERS = { rabbitmq: AMQP_URL, redis: REDIS_URL } as const;

describeBrokers.each(Object.keys(BROKERS) as (keyof typeof BROKERS)[])('soft shutdown: %s broker', (brokerName) => {
  const brokerUrl = BROKERS[brokerName];
  const queue = uniqueName('soft');
  const apps: Celery[] = [];

  afterAll(async () => {
    for (const app of apps) await app.close();
    await deleteQueues(brokerUrl, [queue]);
  });

  test('cold shutdown: short tasks finish within softShutdownTimeout, long ones are requeued and run once by another worker', async () => {
    const runs: string[] = [];
    const started = new Set<string>();
    const newWorker = (name: string, softShutdownTimeout: number) => {
      const app = new Celery({ broker: brokerUrl, backend: REDIS_URL, taskDefaultQueue: queue, logger: silentLogger });
      apps.push(app);
      const worker = new Worker(app, {
        queues: [queue],
        concurrency: 4,
        hostname: `${name}@test`,
        ackMode: 'late',
        shutdownMode: 'cold',
        softShutdownTimeout,
        logger: silentLogger,
      });
      worker.register('sleep', ([ms, label], _kwargs, ctx) => {
        started.add(`${name}:${String(label)}`);
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => {
            runs.push(`${name}:${String(label)}`);
            resolve(`${String(label)} by ${name}`);
          }, ms as number);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(ctx.signal.reason);
          });
        });
      });
      return worker;
    };
    const first = newWorker('first', 2);
    await first.start();
    const client = new Celery({ broker: brokerUrl, backend: REDIS_URL, logger: silentLogger });
    apps.push(client);
    const short = await client.sendTask('sleep', [300, 'short'], {}, { queue });
    const long = await client.sendTask('sleep', [8000, 'long'], {}, { queue });
    for (const end = Date.now() + 30_000; !(started.has('first:short') && started.has('first:long'));) {
      if (Date.now() > end) throw new Error(`tasks never started: ${[...started].join(', ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await first.stop();
    expect(await short.get({ timeout: 30_000 })).toBe('short by first');
    // the long task's message went back: a second worker runs it to its one outcome
    const second = newWorker('second', 0);
    await second.start();
    expect(await long.get({ timeout: 30_000 })).toBe('long by second');
    await second.stop({ mode: 'warm' });
    expect(runs.sort()).toEqual(['first:short', 'second:long']);
  });
});
