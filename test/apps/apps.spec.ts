/**
 * The example apps: the api on the embedded memory transport (the `npm start` demo), and the
 * worker + api as separate Nest apps over real RabbitMQ with Redis results.
 */
import 'reflect-metadata';
import { expect } from '@jest/globals';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication, INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import amqp from 'amqplib';
import { BrokerUnavailableError, CeleryServer, CeleryTaskError, CeleryTimeoutError, InvalidTaskOptionsError, NoResultBackendError } from 'nestjs-celery';
import { httpStatusOf } from '../../apps/api/src/celery-errors.filter.js';
import { ApiModule } from '../../apps/api/src/api.module.js';
import { celeryOptionsFromEnv, workerOptionsFromEnv } from '../../apps/shared/celery-env.js';
import { startMetricsServer } from '../../apps/worker/src/metrics-server.js';
import { WorkerModule } from '../../apps/worker/src/worker.module.js';
import { deleteQueues } from '../support/cleanup.js';
import { AMQP_URL, REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';

async function startApi(env: NodeJS.ProcessEnv): Promise<{ app: INestApplication; base: string }> {
  const app = await NestFactory.create(ApiModule.register(env), { logger: false });
  await app.listen(0, '127.0.0.1');
  const address = (app.getHttpServer() as Server).address() as AddressInfo;
  return { app, base: `http://127.0.0.1:${address.port}` };
}

/** What the api answers about a task (POST /tasks/… and GET /tasks/:id). */
type TaskBody = { id: string; state: string; result?: unknown; traceback?: string; message?: string };

async function post(url: string, body?: unknown) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as TaskBody };
}

/** GET /tasks/:id until the task is ready. */
async function awaitTask(base: string, id: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = (await (await fetch(`${base}/tasks/${id}`)).json()) as TaskBody;
    if (['SUCCESS', 'FAILURE', 'REVOKED'].includes(body.state) || Date.now() > deadline) return body;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function exercise(base: string) {
  const sent = await post(`${base}/tasks/tasks.add`, { args: [2, 3] });
  expect(sent.status).toBe(202);
  expect(await awaitTask(base, sent.body.id)).toMatchObject({ state: 'SUCCESS', result: 5 });

  const xsum = await post(`${base}/tasks/tasks.xsum`, { args: [[1, 2, 3.5]] });
  expect(await awaitTask(base, xsum.body.id)).toMatchObject({ state: 'SUCCESS', result: 6.5 });

  const echo = await post(`${base}/tasks/tasks.echo`, { args: [1, 'a'], kwargs: { k: true } });
  expect(await awaitTask(base, echo.body.id)).toMatchObject({ state: 'SUCCESS', result: { args: [1, 'a'], kwargs: { k: true } } });

  const fail = await post(`${base}/tasks/tasks.fail`, { args: ['nope'] });
  const failed = await awaitTask(base, fail.body.id);
  expect(failed).toMatchObject({ state: 'FAILURE', error: { type: 'ValueError', module: 'builtins', message: ['nope'] } });
  expect(failed.traceback).toContain('ValueError: nope');

  expect((await post(`${base}/tasks/add/20/22`)).body).toEqual({ result: 42 });
  expect((await post(`${base}/tasks/tasks.add`, { args: 'nope' })).status).toBe(400);
}

/** GET a Prometheus exposition: its content type and the value of each sample line. */
async function scrape(url: string) {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const value = (sample: string) =>
    Number(
      text
        .split('\n')
        .find((l) => l.startsWith(`${sample} `))
        ?.split(' ')[1] ?? NaN,
    );
  return { text, value };
}

describe('example apps, embedded (npm start)', () => {
  test('api + worker in one process on memory://: POST a task, GET its result', async () => {
    const { app, base } = await startApi({});
    try {
      await exercise(base);
      const { value } = await scrape(`${base}/metrics`);
      expect(value('celery_tasks_succeeded_total{task="tasks.add",queue="celery"}')).toBeGreaterThanOrEqual(1);
      expect(value('celery_tasks_published_total{task="tasks.fail",queue="celery"}')).toBeGreaterThanOrEqual(1);
    } finally {
      await app.close();
    }
  });
});

const describeReal = await describeIfAvailable('example apps over RabbitMQ + Redis', 'rabbitmq', 'redis');
describeReal('example apps over RabbitMQ + Redis', () => {
  const queue = uniqueName('apps');
  const env = { CELERY_BROKER_URL: AMQP_URL, CELERY_RESULT_BACKEND: REDIS_URL, CELERY_QUEUES: queue };
  let worker: INestMicroservice;
  let api: { app: INestApplication; base: string };

  beforeAll(async () => {
    worker = await NestFactory.createMicroservice(WorkerModule.register(env), {
      strategy: new CeleryServer({ ...celeryOptionsFromEnv(env), worker: workerOptionsFromEnv(env) }),
      logger: false,
    });
    await worker.listen();
    api = await startApi(env);
  });
  afterAll(async () => {
    await api?.app.close();
    await worker?.close();
    await deleteQueues(AMQP_URL, [queue]);
  });

  test('the api sends, the separate worker app runs, results come back through Redis', async () => {
    await exercise(api.base);
  });

  test("the worker's metrics server and the api's GET /metrics show the tasks by queue", async () => {
    const { server, port } = await startMetricsServer(0, '127.0.0.1');
    try {
      const fromWorker = await scrape(`http://127.0.0.1:${port}/metrics`);
      expect(fromWorker.value(`celery_tasks_received_total{task="tasks.add",queue="${queue}"}`)).toBeGreaterThanOrEqual(1);
      expect(fromWorker.value(`celery_task_runtime_seconds_count{task="tasks.add",queue="${queue}"}`)).toBeGreaterThanOrEqual(1);
      expect(fromWorker.value('celery_connections{component="broker",state="connected"}')).toBeGreaterThanOrEqual(2);
      const fromApi = await scrape(`${api.base}/metrics`);
      expect(fromApi.value(`celery_tasks_published_total{task="tasks.add",queue="${queue}"}`)).toBeGreaterThanOrEqual(1);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test('PROGRESS states from the worker reach the api through the result backend', async () => {
    const sent = await post(`${api.base}/tasks/tasks.progress`, { args: [3] });
    const seen = new Set<string>();
    const deadline = Date.now() + 10_000;
    let last: TaskBody | undefined;
    while (Date.now() < deadline) {
      last = (await (await fetch(`${api.base}/tasks/${sent.body.id}`)).json()) as TaskBody;
      seen.add(last.state);
      if (last.state === 'SUCCESS') break;
      await new Promise((r) => setTimeout(r, 30));
    }
    expect(last).toMatchObject({ state: 'SUCCESS', result: '3 steps done' });
    expect(seen.has('PROGRESS')).toBe(true);
  });
});

describe('example api: Celery errors as HTTP statuses', () => {
  test('a task that raised is 502, no answer in time 504, no result backend 501, bad options 400, a broker problem 503', () => {
    expect(httpStatusOf(new CeleryTaskError('ValueError', 'builtins', ['nope'], null))).toBe(502);
    expect(httpStatusOf(new CeleryTimeoutError('id', 1000))).toBe(504);
    expect(httpStatusOf(new NoResultBackendError('id'))).toBe(501);
    expect(httpStatusOf(new InvalidTaskOptionsError('countdown must be a number'))).toBe(400);
    expect(httpStatusOf(new BrokerUnavailableError('tasks.add', 'the broker is disconnected'))).toBe(503);
  });
});

const describeNoBackend = await describeIfAvailable('example api without a result backend', 'rabbitmq');
describeNoBackend('example api on RabbitMQ without a result backend', () => {
  const queue = uniqueName('apps-nobackend');
  let api: { app: INestApplication; base: string };
  /** messages in the queue; a queue not declared yet holds none (the client declares it before publishing) */
  const depth = async () => {
    const conn = await amqp.connect(AMQP_URL);
    try {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      return await ch.checkQueue(queue).then(
        (q) => q.messageCount,
        () => 0,
      );
    } finally {
      await conn.close().catch(() => undefined);
    }
  };

  beforeAll(async () => {
    api = await startApi({ CELERY_BROKER_URL: AMQP_URL, CELERY_QUEUES: queue });
  });
  afterAll(async () => {
    await api?.app.close();
    await deleteQueues(AMQP_URL, [queue]);
  });

  test('a result-waiting request is refused (501) before anything is published; a plain send is 202 with its id', async () => {
    const refused = await post(`${api.base}/tasks/add/2/3`);
    expect(refused.status).toBe(501);
    expect(refused.body.message).toContain('no result backend');
    expect(await depth()).toBe(0);

    const sent = await post(`${api.base}/tasks/tasks.add`, { args: [2, 3] });
    expect(sent).toEqual({ status: 202, body: { id: expect.any(String) } });
    expect(await depth()).toBe(1);

    const asked = await fetch(`${api.base}/tasks/${sent.body.id}`);
    expect(asked.status).toBe(501);
    expect(await asked.json()).toMatchObject({ error: 'NoResultBackendError' });
  });

  test('GET /health is 200 with the broker connected', async () => {
    const res = await fetch(`${api.base}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ celery: { status: 'up', default: { broker: 'connected' } } });
  });
});
