// @CeleryTask: marks a provider or controller method as the handler of a Celery task, by name or by typed contract.
import { SetMetadata } from '@nestjs/common';
import type { TaskOptions } from '../engine/worker/task-context.js';
import { CELERY_TASK_METADATA } from './celery.constants.js';
import { isTaskContract, type TaskContract, type TaskMethod } from './task-contract.js';

/** Per-task options (the engine's TaskOptions): ignore_result, track_started, retries, time limits, acks. */
export type CeleryTaskOptions = TaskOptions;

/** What `@CeleryTask` stores on the method. */
export interface CeleryTaskMetadata {
  name: string;
  options: CeleryTaskOptions;
  /** the contract the method was declared with, if any (its name is final, a processor prefix does not apply) */
  contract?: TaskContract;
}

/** A method decorator that checks the method against a contract's types. */
export type TypedTaskDecorator<A extends unknown[], R, K extends object> = <M extends TaskMethod<A, R, K>>(
  target: object,
  propertyKey: string | symbol,
  descriptor: TypedPropertyDescriptor<M>,
) => void;

/**
 * Marks a provider or controller method as the Celery task `name`. Discovered by CeleryModule,
 * run by the module's worker or a CeleryServer through Nest's guards, interceptors, pipes and
 * exception filters (ExecutionContext type 'rpc').
 *
 * With a contract (`@CeleryTask(addTask)`) the method's positional signature and result type
 * are checked at compile time; that check describes the default argument mapping, so a method
 * using `@Args()`/`@Kwargs()` parameters takes the name instead: `@CeleryTask(addTask.name)`.
 *
 * Parameter names (`options.params`, else the contract's `params`) make kwargs bind by name as
 * in Python: `@CeleryTask('tasks.add', { params: ['x', 'y'] }) add(x, y)` runs `add(4, 5)` for
 * `send_task('tasks.add', kwargs={'x': 4, 'y': 5})`, and a call Python would refuse fails with
 * Python's TypeError.
 */
export function CeleryTask<A extends unknown[], R, K extends object>(task: TaskContract<A, R, K>, options?: CeleryTaskOptions): TypedTaskDecorator<A, R, K>;
export function CeleryTask(name: string, options?: CeleryTaskOptions): MethodDecorator;
export function CeleryTask(task: string | TaskContract, options: CeleryTaskOptions = {}): MethodDecorator {
  const name = isTaskContract(task) ? task.name : task;
  if (typeof name !== 'string' || name === '') throw new TypeError('@CeleryTask(name): the task name must be a non-empty string, e.g. "tasks.add"');
  const params = options.params ?? (isTaskContract(task) ? task.params : undefined);
  const metadata: CeleryTaskMetadata = { name, options: params ? { ...options, params } : options, ...(isTaskContract(task) ? { contract: task } : {}) };
  return SetMetadata(CELERY_TASK_METADATA, metadata);
}
