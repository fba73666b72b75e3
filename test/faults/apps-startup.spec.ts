/**
 * Fault: the example apps start before their broker does (the usual race in compose or Kubernetes): the worker's
 * and the api's GET /health answer 503 "starting" meanwhile, and both come up, 200, when a private Redis appears.
 */
import { expect } from '@jest/globals';
import 'reflect-metadata';
import type { INestApplication, INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CeleryHealthIndicator, CeleryServer } from 'nestjs-celery';
import { ApiModule } from '../../apps/api/src/api.module.js';
import { celeryOptionsFromEnv, workerOptionsFromEnv } from '../../apps/shared/celery-env.js';
import { healthResponse } from '../../apps/shared/health.js';
import { startMetricsServer } from '../../apps/worker/src/metrics-server.js';
import { WorkerModule } from '../../apps/worker/src/worker.module.js';
import { eventually } from '../support/eventually.js';
import { describeWithPrivateBrokers, startPrivateRedis, type PrivateRedis } from '../support/private-broker.js';
import { uniqueName } from '../support/services.js';

const PORT = 6440; // this suite's private Redis (6440–6449)
const describeFaults = describeWithPrivateBrokers('fault: the example apps start before their broker', 'redis');

/** The /health answer as the apps write it (only the fields this suite reads). */
type Health = { status: number; body?: { celery?: { status?: string; server?: { broker?: string } } } };

async function health(url: string): Promise<Health> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Health['body'] };
}

describeFaults('fault: the example apps start before their broker', () => {
  let redis: PrivateRedis | undefined;
  afterAll(async () => {
    await redis?.stop();
  }, 60_000);

  test('worker and api answer /health 503 "starting" while the broker is down, then come up and run a task', async () => {
    const url = `redis://127.0.0.1:${PORT}/0`;
    const env = {
      CELERY_BROKER_URL: url,
      CELERY_RESULT_BACKEND: url,
      CELERY_QUEUES: uniqueName('apps.startup'),
      CELERY_HOSTNAME: uniqueName('nestjs') + '@test',
    };
    const strategy = new CeleryServer({ ...celeryOptionsFromEnv(env), worker: workerOptionsFromEnv(env) });
    const worker: INestMicroservice = await NestFactory.createMicroservice(WorkerModule.register(env), { strategy, logger: false });
    const indicator = worker.get(CeleryHealthIndicator);
    const http = await startMetricsServer(0, '127.0.0.1', { health: () => healthResponse(indicator, strategy) });
    const api: INestApplication = await NestFactory.create(ApiModule.register(env), { logger: false });
    try {
      // as apps/worker/src/main.ts: the HTTP port first, then listen(), which retries the broker
      const listening = worker.listen();
      await api.listen(0, '127.0.0.1');
      const apiBase = `http://127.0.0.1:${((api.getHttpServer() as import('node:http').Server).address() as { port: number }).port}`;
      const workerHealth = `http://127.0.0.1:${http.port}/health`;

      let seen: Health = { status: 0 };
      await eventually(async () => (seen = await health(workerHealth)).body?.celery?.server?.broker === 'starting', 'the worker reporting "starting"', 60_000);
      expect(seen).toMatchObject({ status: 503, body: { celery: { status: 'down', server: { broker: 'starting', retry: expect.any(Number) } } } });
      const apiDown = await health(`${apiBase}/health`);
      expect(apiDown.status).toBe(503);

      redis = await startPrivateRedis({ port: PORT });
      await listening;
      await eventually(async () => (await health(workerHealth)).status === 200, 'the worker healthy', 60_000);
      await eventually(async () => (await health(`${apiBase}/health`)).status === 200, 'the api healthy', 60_000);

      const res = await fetch(`${apiBase}/tasks/add/2/3`, { method: 'POST' });
      expect({ status: res.status, body: await res.json() }).toEqual({ status: 201, body: { result: 5 } });
    } finally {
      await api.close();
      await new Promise((r) => http.server.close(r));
      await worker.close();
    }
  }, 240_000);
});
