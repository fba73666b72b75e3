// The hybrid example: one Nest app that serves HTTP (the api's routes) and runs the Celery worker
// (the worker's tasks) through connectMicroservice, on one broker configuration from the environment.
import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CeleryModule, CeleryServer } from 'nestjs-celery';
import { MetricsController } from '../../api/src/metrics.controller.js';
import { TasksController } from '../../api/src/tasks.controller.js';
import { celeryOptionsFromEnv, workerOptionsFromEnv } from '../../shared/celery-env.js';
import { TasksModule } from '../../worker/src/worker.module.js';

/** The HTTP side sends through CeleryModule's client; the tasks are run by the connected CeleryServer. */
@Module({})
export class HybridModule {
  static register(env: NodeJS.ProcessEnv = process.env): DynamicModule {
    return {
      module: HybridModule,
      imports: [CeleryModule.forRoot(celeryOptionsFromEnv(env)), TasksModule],
      controllers: [TasksController, MetricsController],
    };
  }
}

/**
 * Creates the app and starts its worker (`startAllMicroservices()`); the caller then `listen()`s for
 * HTTP, which runs the init hooks. The worker consumes CELERY_QUEUES like apps/worker.
 */
export async function createHybridApp(env: NodeJS.ProcessEnv = process.env, options?: NestApplicationOptions): Promise<INestApplication> {
  const app = await NestFactory.create(HybridModule.register(env), options);
  app.connectMicroservice({ strategy: new CeleryServer({ ...celeryOptionsFromEnv(env), worker: workerOptionsFromEnv(env) }) });
  await app.startAllMicroservices();
  return app;
}
