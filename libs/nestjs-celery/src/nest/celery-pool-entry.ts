// celeryPoolEntry: a Nest app's pool entry. Each child of the processes pool bootstraps the app's module
// (an application context: DI and providers as usual, no server) and registers its @CeleryTask handlers.
import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { PoolEntry } from '../engine/worker/pool/process-pool.js';
import { CeleryExplorer } from './celery.explorer.js';
import { registerBindings, toTaskHandler } from './celery-task.runner.js';

/**
 * The default export of a pool entry file for a Nest app, e.g. `worker.pool.ts`:
 * `export default celeryPoolEntry(WorkerModule.register())`, with the worker started as
 * `{ pool: 'processes', poolEntry: new URL('./worker.pool.js', import.meta.url) }`. The module
 * must import CeleryModule; its own `worker` option does not start in the children.
 */
export function celeryPoolEntry(module: Type<unknown> | DynamicModule): PoolEntry {
  return async (worker) => {
    const app = await NestFactory.createApplicationContext(module, { logger: ['error', 'warn'] });
    const explorer = app.get(CeleryExplorer, { strict: false });
    registerBindings(
      worker,
      explorer.tasks().map((binding) => ({ binding, handler: toTaskHandler(binding, explorer.errors) })),
    );
  };
}
