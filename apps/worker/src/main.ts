import 'reflect-metadata';
import { availableParallelism } from 'node:os';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CeleryHealthIndicator, CeleryServer } from 'nestjs-celery';
import { healthResponse } from '../../shared/health.js';
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
 * HTTP on ${METRICS_PORT:-9464} (METRICS_PORT=off: none): GET /metrics (Prometheus, unless CELERY_METRICS=false)
 * and GET /health (200 when the broker and backend are connected, 503 otherwise).
 */
async function bootstrap() {
  const strategy = new CeleryServer({ ...celeryOptionsFromEnv(), worker: { ...workerOptionsFromEnv(), ...poolOptions() } });
  const app = await NestFactory.createMicroservice(WorkerModule.register(), { strategy });
  app.enableShutdownHooks();
  const httpPort = process.env.METRICS_PORT ?? '9464';
  if (httpPort !== 'off') {
    // up before the broker is: /health says "starting" while the first connection is retried
    const health = app.get(CeleryHealthIndicator);
    const { port } = await startMetricsServer(Number(httpPort), '0.0.0.0', {
      metrics: metricsEnabled(),
      health: () => healthResponse(health, strategy),
    });
    new Logger('worker').log(`http on :${port} (${metricsEnabled() ? '/metrics, ' : ''}/health)`);
  }
  await app.listen();
}

void bootstrap();
