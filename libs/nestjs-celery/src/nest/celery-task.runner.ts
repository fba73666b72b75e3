// Turns a discovered @CeleryTask binding into an engine TaskHandler (payload, context, Python error mapping)
// and registers the handlers on a worker.
import { isObservable, lastValueFrom } from 'rxjs';
import type { TaskContext, TaskHandler, TaskOptions } from '../engine/worker/task-context.js';
import type { PoolEntry } from '../engine/worker/pool/process-pool.js';
import { CeleryContext } from './celery.context.js';
import type { CeleryPayload } from './celery-payload.js';
import type { PythonErrorRegistry } from './python-error.registry.js';
import type { TaskContract } from './task-contract.js';
import { validateArguments, validateResult } from './task-schemas.js';

/** A Nest-side handler: RPC data and context in, a value, Promise or Observable out. */
export type CeleryInvoker = (payload: CeleryPayload, context: CeleryContext) => unknown;

/** A task found in the app (a `@CeleryTask` method) or given by Nest (a `@MessagePattern`). */
export interface CeleryTaskBinding {
  name: string;
  invoke: CeleryInvoker;
  options: TaskOptions;
  /** where it came from, for error messages: `ReportsService.build` */
  source: string;
  /** the contract of `@CeleryTask(contract)`: its schemas check the call before running and the result after */
  contract?: TaskContract;
}

/** Runs around each task (a CeleryServer's processing hooks and events). */
export type TaskAround = (context: CeleryContext, run: () => Promise<unknown>) => Promise<unknown>;

/**
 * Adapts a Nest-side handler to the engine's TaskHandler: builds the payload and CeleryContext,
 * checks it against the contract's schemas (the engine has bound keywords to `params` already),
 * waits for a Promise or the last value of an Observable (null when it completes empty), checks
 * the result, and hands a failure to the engine annotated with its Python exception name.
 */
export function toTaskHandler(binding: CeleryTaskBinding, errors: PythonErrorRegistry, around?: TaskAround): TaskHandler {
  const validated = binding.contract?.schemas ? { name: binding.name, params: binding.options.params, schemas: binding.contract.schemas } : undefined;
  return (args: unknown[], kwargs: Record<string, unknown>, task: TaskContext) => {
    const context = new CeleryContext([task, binding.name]);
    const run = async () => {
      try {
        const payload = validated ? await validateArguments(validated, args, kwargs, true) : { args, kwargs };
        const invoked = await binding.invoke(payload, context);
        const value = isObservable(invoked) ? await lastValueFrom(invoked, { defaultValue: null }) : invoked;
        return validated ? await validateResult(validated, value) : value;
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
