import { Module, type DynamicModule } from '@nestjs/common';
import { CeleryModule } from 'nestjs-celery';
import { celeryOptionsFromEnv } from '../../shared/celery-env.js';
import { TasksService } from './tasks.service.js';

/** The example tasks, registered with whatever runs them (a CeleryServer, or the module's worker). */
@Module({ providers: [TasksService], exports: [TasksService] })
export class TasksModule {}

@Module({})
export class WorkerModule {
  static register(env: NodeJS.ProcessEnv = process.env): DynamicModule {
    return { module: WorkerModule, imports: [CeleryModule.forRoot(celeryOptionsFromEnv(env)), TasksModule] };
  }
}
