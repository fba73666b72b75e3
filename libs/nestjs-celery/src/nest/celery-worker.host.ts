// CeleryWorkerHost: runs the module's own worker (the `worker` option) from application bootstrap to shutdown.
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Celery } from '../engine/celery.js';
import { Worker } from '../engine/worker/worker.js';
import { POOL_CHILD_ENV } from '../engine/worker/pool/process-pool.js';
import { CeleryClient } from './celery.client.js';
import { CeleryExplorer } from './celery.explorer.js';
import { MODULE_OPTIONS_TOKEN } from './celery.module-definition.js';
import { celeryLogger, workerOptions, type CeleryModuleOptions } from './celery-module.options.js';
import { registerBindings, toTaskHandler } from './celery-task.runner.js';

/**
 * The module's own worker (`worker` option): runs the `@CeleryTask` handlers in any Nest app,
 * on the default client's connection, from bootstrap until shutdown. Without the option,
 * tasks run only where a CeleryServer is listening.
 */
@Injectable()
export class CeleryWorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private worker?: Worker;

  constructor(
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: CeleryModuleOptions,
    private readonly explorer: CeleryExplorer,
    private readonly client: CeleryClient,
  ) {}

  /** The running worker, when the `worker` option is set. */
  get engine(): Worker | undefined {
    return this.worker;
  }

  async onApplicationBootstrap(): Promise<void> {
    const options = workerOptions(this.options.worker);
    // in a child of the processes pool the parent is the worker: the child only runs the tasks it is given
    if (!options || process.env[POOL_CHILD_ENV]) return;
    const worker = new Worker(this.client.unwrap<Celery>(), { ...options, logger: celeryLogger(this.options, 'CeleryWorker') });
    registerBindings(
      worker,
      this.explorer.tasks().map((binding) => ({ binding, handler: toTaskHandler(binding, this.explorer.errors) })),
    );
    await worker.start();
    this.worker = worker;
  }

  async beforeApplicationShutdown(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.stop();
  }
}
