/**
 * The hybrid example (apps/hybrid): one Nest app serving HTTP and running the Celery worker via
 * connectMicroservice. Its routes reach its own worker on memory:// and over RabbitMQ + Redis; a Python
 * Celery client (5.2, 5.5, 5.6) calls the same worker's tasks, and its routes call a Python worker's.
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { createHybridApp } from '../../apps/hybrid/src/hybrid.app.js';
import { eventually } from '../support/eventually.js';
import { deleteQueues } from '../support/cleanup.js';
import { peerSuites, pythonClient, startPythonWorker } from '../support/python.js';
import { AMQP_URL, REDIS_URL, uniqueName } from '../support/services.js';

async function start(env: NodeJS.ProcessEnv): Promise<{ app: INestApplication; base: string }> {
  const app = await createHybridApp(env, { logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, base: await app.getUrl() };
}

async function post(url: string, body?: unknown) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A task sent by name over HTTP, then its outcome read back over HTTP once the worker stored it. */
async function sendAndAwait(base: string, name: string, body: unknown) {
  const sent = await post(`${base}/tasks/${name}`, body);
  expect(sent.status).toBe(202);
  let outcome: Record<string, unknown> = {};
  await eventually(async () => {
    outcome = (await (await fetch(`${base}/tasks/${String(sent.body.id)}`)).json()) as Record<string, unknown>;
    return outcome.state === 'SUCCESS' || outcome.state === 'FAILURE';
  }, `task ${name} to be ready`);
  return outcome;
}

describe('hybrid example app on memory://', () => {
  test('its HTTP routes send tasks that its own connected worker runs', async () => {
    const { app, base } = await start({});
    try {
      expect((await post(`${base}/tasks/add/2/40`)).body).toEqual({ result: 42 });
      expect(await sendAndAwait(base, 'tasks.xsum', { args: [[1, 2, 3.5]] })).toMatchObject({ state: 'SUCCESS', result: 6.5 });
      expect(await sendAndAwait(base, 'tasks.fail', { args: ['nope'] })).toMatchObject({ state: 'FAILURE', error: { type: 'ValueError', message: ['nope'] } });
    } finally {
      await app.close();
    }
  });
});

for (const { version, peer, describe: describePeer } of await peerSuites('hybrid example app over RabbitMQ + Redis', 'rabbitmq', 'redis')) {
  describePeer(`hybrid example app over RabbitMQ + Redis, Python Celery ${version}`, () => {
    const queue = uniqueName('hybrid');
    let hybrid: { app: INestApplication; base: string } | undefined;

    beforeAll(async () => {
      hybrid = await start({ CELERY_BROKER_URL: AMQP_URL, CELERY_RESULT_BACKEND: REDIS_URL, CELERY_QUEUES: queue, CELERY_METRICS: 'false' });
    }, 60_000);
    const pyQueue = uniqueName('hybrid-py');
    afterAll(async () => {
      await hybrid?.app.close();
      await deleteQueues(AMQP_URL, [queue, pyQueue]);
    }, 60_000);

    test('an HTTP route sends a task through RabbitMQ to the same app, the result comes back through Redis', async () => {
      expect((await post(`${hybrid!.base}/tasks/add/20/22`)).body).toEqual({ result: 42 });
      expect(await sendAndAwait(hybrid!.base, 'tasks.echo', { args: [1, 'a'], kwargs: { k: true } })).toMatchObject({
        state: 'SUCCESS',
        result: { args: [1, 'a'], kwargs: { k: true } },
      });
    }, 60_000);

    test(`a Python Celery ${version} client calls the hybrid app's tasks`, async () => {
      const [sum, failure] = await pythonClient({ broker: AMQP_URL, backend: REDIS_URL, queue, peer }, [
        { task: 'tasks.add', args: [2, 3], options: { queue } },
        { task: 'tasks.fail', args: ['from python'], options: { queue } },
      ]);
      expect(sum).toMatchObject({ state: 'SUCCESS', result: 5 });
      expect(failure).toMatchObject({ state: 'FAILURE', exc_type: 'ValueError', exc_is_value_error: true, exc_args: ['from python'] });
    }, 120_000);

    test(`an HTTP route sends a task to a Python Celery ${version} worker and reads its result`, async () => {
      const worker = await startPythonWorker({ broker: AMQP_URL, backend: REDIS_URL, queue: pyQueue, peer });
      try {
        expect(await sendAndAwait(hybrid!.base, 'py.add', { args: [2, 3], queue: pyQueue })).toMatchObject({ state: 'SUCCESS', result: 5 });
      } finally {
        await worker.stop();
      }
    }, 120_000);
  });
}
