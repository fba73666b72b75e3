import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CeleryServer } from 'nestjs-celery';
import { celeryOptionsFromEnv, metricsEnabled, workerOptionsFromEnv } from '../../shared/celery-env.js';
import { startMetricsServer } from './metrics-server.js';
import { WorkerModule } from './worker.module.js';

/**
 * A Nest microservice that runs Celery tasks: `CELERY_BROKER_URL=amqp://… npm run start:worker`.
 * Prometheus metrics on http://<host>:${METRICS_PORT:-9464}/metrics (METRICS_PORT=off: none).
 */
async function bootstrap() {
  const app = await NestFactory.createMicroservice(WorkerModule.register(), {
    strategy: new CeleryServer({ ...celeryOptionsFromEnv(), worker: workerOptionsFromEnv() }),
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
