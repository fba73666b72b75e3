import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { CeleryModule } from 'nestjs-celery';
import { celeryOptionsFromEnv, isEmbedded, workerOptionsFromEnv } from '../../shared/celery-env.js';
import { TasksModule } from '../../worker/src/worker.module.js';
import { CeleryErrorsFilter } from './celery-errors.filter.js';
import { HealthController } from './health.controller.js';
import { MetricsController } from './metrics.controller.js';
import { TasksController } from './tasks.controller.js';

@Module({})
export class ApiModule {
  /**
   * With a broker configured the api only sends tasks (run apps/worker beside it). With none,
   * it embeds the worker's tasks and runs them in-process on the memory transport: the demo.
   */
  static register(env: NodeJS.ProcessEnv = process.env): DynamicModule {
    const embedded = isEmbedded(env);
    return {
      module: ApiModule,
      imports: [
        CeleryModule.forRoot({ ...celeryOptionsFromEnv(env), ...(embedded ? { worker: workerOptionsFromEnv(env) } : {}) }),
        ...(embedded ? [TasksModule] : []),
      ],
      controllers: [TasksController, MetricsController, HealthController],
      providers: [{ provide: APP_FILTER, useClass: CeleryErrorsFilter }],
    };
  }
}
