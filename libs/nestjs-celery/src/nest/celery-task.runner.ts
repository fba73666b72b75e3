// Turns a discovered @CeleryTask binding into an engine TaskHandler (payload, context, Python error mapping)
// and registers the handlers on a worker.
import { isObservable, lastValueFrom } from 'rxjs';
import type { TaskContext, TaskHandler, TaskOptions } from '../engine/worker/task-context.js';
import type { PoolEntry } from '../engine/worker/pool/process-pool.js';
import { CeleryContext } from './celery.context.js';
import type { CeleryPayload } from './celery-payload.js';
import type { PythonErrorRegistry } from './python-error.registry.js';

/** A Nest-side handler: RPC data and context in, a value, Promise or Observable out. */
export type CeleryInvoker = (payload: CeleryPayload, context: CeleryContext) => unknown;

/** A task found in the app (a `@CeleryTask` method) or given by Nest (a `@MessagePattern`). */
export interface CeleryTaskBinding {
  name: string;
  invoke: CeleryInvoker;
  options: TaskOptions;
  /** where it came from, for error messages: `ReportsService.build` */
  source: string;
}

/** Runs around each task (a CeleryServer's processing hooks and events). */
export type TaskAround = (context: CeleryContext, run: () => Promise<unknown>) => Promise<unknown>;

/**
 * Adapts a Nest-side handler to the engine's TaskHandler: builds the payload and CeleryContext,
 * waits for a Promise or the last value of an Observable (null when it completes empty), and
 * hands a failure to the engine annotated with its Python exception name.
 */
export function toTaskHandler(binding: CeleryTaskBinding, errors: PythonErrorRegistry, around?: TaskAround): TaskHandler {
  return (args: unknown[], kwargs: Record<string, unknown>, task: TaskContext) => {
    const context = new CeleryContext([task, binding.name]);
    const run = async () => {
      try {
        const value = await binding.invoke({ args, kwargs }, context);
        return isObservable(value) ? await lastValueFrom(value, { defaultValue: null }) : value;
      } catch (error) {
        throw errors.prepare(error);
      }
    };
    return around ? around(context, run) : run();
  };
}

/** Register bindings on an engine worker; a name bound twice is an error naming both places. */
export function registerBindings(worker: Parameters<PoolEntry>[0], bindings: Iterable<{ binding: CeleryTaskBinding; handler: TaskHandler }>): void {
  const seen = new Map<string, string>();
  for (const { binding, handler } of bindings) {
    const other = seen.get(binding.name);
    if (other !== undefined) {
      throw new Error(`Celery task "${binding.name}" is bound twice (${other} and ${binding.source}): a task name must have exactly one handler per worker`);
    }
    seen.set(binding.name, binding.source);
    worker.register(binding.name, handler, binding.options);
  }
}
