// The pool entry of the example worker (CELERY_POOL=processes): each child process bootstraps
// WorkerModule, so TasksService and its @CeleryTask handlers run there with their providers.
import 'reflect-metadata';
import { celeryPoolEntry } from 'nestjs-celery';
import { WorkerModule } from './worker.module.js';

export default celeryPoolEntry(WorkerModule.register());
