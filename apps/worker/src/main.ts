import 'reflect-metadata';
import { availableParallelism } from 'node:os';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CeleryServer } from 'nestjs-celery';
import { celeryOptionsFromEnv, metricsEnabled, workerOptionsFromEnv } from '../../shared/celery-env.js';
import { startMetricsServer } from './metrics-server.js';
import { WorkerModule } from './worker.module.js';

/** CELERY_POOL=processes: the tasks run in child processes that each bootstrap WorkerModule (worker.pool.ts). */
function poolOptions() {
  if (process.env.CELERY_POOL !== 'processes') return {};
  return {
    pool: 'processes' as const,
    poolEntry: new URL('./worker.pool.js', import.meta.url),
    concurrency: Number(process.env.CELERY_CONCURRENCY ?? availableParallelism()),
  };
}

/**
 * A Nest microservice that runs Celery tasks: `CELERY_BROKER_URL=amqp://… npm run start:worker`.
 * Prometheus metrics on http://<host>:${METRICS_PORT:-9464}/metrics (METRICS_PORT=off: none).
 */
async function bootstrap() {
  const app = await NestFactory.createMicroservice(WorkerModule.register(), {
    strategy: new CeleryServer({ ...celeryOptionsFromEnv(), worker: { ...workerOptionsFromEnv(), ...poolOptions() } }),
  });
  app.enableShutdownHooks();
  await app.listen();
  const metricsPort = process.env.METRICS_PORT ?? '9464';
  if (metricsPort !== 'off' && metricsEnabled()) {
    const { port } = await startMetricsServer(Number(metricsPort));
    new Logger('worker').log(`metrics on :${port}/metrics`);
  }
}

void bootstrap();
