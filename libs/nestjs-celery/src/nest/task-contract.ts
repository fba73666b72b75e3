// Typed task contracts (defineTask): one declaration of a task's name, args, kwargs and result shared by
// the client that sends it and the @CeleryTask handler that runs it.
import type { Observable } from 'rxjs';
import { checkSendTaskOptions, type SendTaskOptions } from '../engine/celery.js';
import type { TaskParams } from '../engine/worker/task-arguments.js';
import type { SchemaArgs, SchemaKwargs, SchemaResult, TaskSchemas } from './task-schemas.js';

/** Type-only brand carrying a contract's argument, result and kwargs types. */
declare const CONTRACT_TYPES: unique symbol;

/** Runtime mark of defineTask results (so a Nest object pattern is never mistaken for one). */
const CONTRACT = Symbol.for('nestjs-celery.TaskContract');

/** Keyword arguments of a task (Celery's kwargs dict). */
export type TaskKwargs = Record<string, unknown>;

/**
 * A task's name and types, shared by the client and the worker:
 * `export const addTask = defineTask<[x: number, y: number], number>('tasks.add')`.
 * The client's `call`/`sendTask` then check args and result types, and `@CeleryTask(addTask)`
 * checks the handler method's signature.
 */
export interface TaskContract<A extends unknown[] = unknown[], R = unknown, K extends object = TaskKwargs> {
  readonly name: string;
  /** defaults for every send of this task (queue, priority, time limits …) */
  readonly options?: SendTaskOptions;
  /** the handler's parameter names, one per positional arg type: kwargs bind to them by name (TaskOptions.params) */
  readonly params?: TaskParams;
  /** runtime validators of args, kwargs and result (defineTask with `args`/`kwargs`/`result` schemas) */
  readonly schemas?: TaskSchemas;
  readonly [CONTRACT_TYPES]?: { args: A; result: R; kwargs: K };
}

/**
 * defineTask's options: send defaults, plus `params`, the parameter names of the task, one per
 * positional arg type (`'y?'` for an optional one): `{ params: ['x', 'y'] }`.
 */
export type TaskContractOptions<A extends unknown[] = unknown[]> = SendTaskOptions & {
  /** one name per positional arg type, then optionally `'*args'` / `'**kwargs'` (the latter hands the method its keywords as one object) */
  params?: Readonly<[...{ [I in keyof A]: string }, ...(`*${string}` | `**${string}`)[]]>;
};

/**
 * defineTask's options with validators: send defaults and `params` as in TaskContractOptions, plus
 * Standard Schema validators (zod 4, valibot, arktype …) whose types become the contract's:
 * `{ args: z.tuple([z.number(), z.number()]), result: z.number(), params: ['x', 'y'] }`.
 */
export type TaskSchemaOptions<S extends TaskSchemas> = S &
  SendTaskOptions & {
    /** one name per positional arg, as in TaskContractOptions (kwargs are bound to them before `args` is checked) */
    params?: TaskParams;
  };

/**
 * Declare a task contract. Type parameters: positional args tuple, result, kwargs (optional).
 * With schemas instead (`defineTask('tasks.add', { args: z.tuple([z.number(), z.number()]) })`) the
 * types are the schemas' and the client and worker validate at run time: the client refuses a bad
 * call before publishing, the worker stores FAILURE TypeError naming the field (TaskValidationError).
 */
export function defineTask<A extends unknown[] = [], R = unknown, K extends object = TaskKwargs>(
  name: string,
  options?: TaskContractOptions<A>,
): TaskContract<A, R, K>;
export function defineTask<const S extends TaskSchemas>(
  name: string,
  options: TaskSchemaOptions<S>,
): TaskContract<SchemaArgs<S>, SchemaResult<S>, SchemaKwargs<S>>;
export function defineTask(name: string, options?: TaskContractOptions & TaskSchemas): TaskContract {
  if (typeof name !== 'string' || name === '') throw new TypeError('defineTask(name): the task name must be a non-empty string, e.g. "tasks.add"');
  const { params, args, kwargs, result, ...sendOptions } = options ?? {};
  if (options !== undefined) checkSendTaskOptions(sendOptions);
  const schemas = Object.fromEntries(Object.entries({ args, kwargs, result }).filter(([, schema]) => schema !== undefined)) as TaskSchemas;
  for (const [field, schema] of Object.entries(schemas)) {
    if (typeof (schema as { '~standard'?: { validate?: unknown } })['~standard']?.validate !== 'function') {
      throw new TypeError(`defineTask("${name}"): ${field} must be a Standard Schema validator (zod 4, valibot, arktype …)`);
    }
  }
  return Object.freeze({
    name,
    ...(options && Object.keys(sendOptions).length ? { options: sendOptions } : {}),
    ...(params ? { params: Object.freeze([...params]) } : {}),
    ...(Object.keys(schemas).length ? { schemas: Object.freeze(schemas) } : {}),
    [CONTRACT]: true,
  });
}

/** The positional argument types of a task contract. */
export type ArgsOf<T> = T extends TaskContract<infer A, unknown, object> ? A : never;
/** The result type of a task contract. */
export type ResultOf<T> = T extends TaskContract<unknown[], infer R, object> ? R : never;
/** The keyword argument types of a task contract. */
export type KwargsOf<T> = T extends TaskContract<unknown[], unknown, infer K> ? K : never;

/** What a task method may return for a result of type R. */
export type TaskReturn<R> = R | Promise<R> | Observable<R>;

/** The method shape `@CeleryTask(contract)` accepts: positional args, then kwargs when sent. */
export type TaskMethod<A extends unknown[], R, K extends object> = (...args: [...A, K?]) => TaskReturn<R>;

export function isTaskContract(value: unknown): value is TaskContract {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[CONTRACT] === true;
}
