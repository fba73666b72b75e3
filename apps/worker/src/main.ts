import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { CeleryServer } from 'nestjs-celery';
import { celeryOptionsFromEnv, workerOptionsFromEnv } from '../../shared/celery-env.js';
import { WorkerModule } from './worker.module.js';

/** A Nest microservice that runs Celery tasks: `CELERY_BROKER_URL=amqp://… npm run start:worker`. */
async function bootstrap() {
  const app = await NestFactory.createMicroservice(WorkerModule.register(), {
    strategy: new CeleryServer({ ...celeryOptionsFromEnv(), worker: workerOptionsFromEnv() }),
  });
  app.enableShutdownHooks();
  await app.listen();
}

void bootstrap();
