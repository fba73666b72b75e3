/** Payloads of CeleryClient's `send`/`emit`: what a handler receives, and how a sent payload is read. */
import { checkSendTaskOptions, type SendTaskOptions } from '../engine/celery.js';
import { InvalidTaskOptionsError } from '../engine/errors.js';

/** What a Celery handler receives as RPC data (`@Payload()`, `switchToRpc().getData()`). */
export interface CeleryPayload<A extends unknown[] = unknown[], K extends object = Record<string, unknown>> {
  args: A;
  kwargs: K;
}

/** A call's arguments as `CeleryClient.send`/`emit` read them from the payload. */
export interface CeleryCall {
  args: unknown[];
  kwargs: Record<string, unknown>;
}

/**
 * What `CeleryClient.send(pattern, data, options)` hands to Nest's ClientProxy as the packet
 * data: the payload and the task options, kept apart. Only the client builds it, so nothing in
 * a payload (a request body, a DTO) can become a task option.
 */
export class CeleryClientCall {
  constructor(
    readonly payload: unknown,
    readonly options: SendTaskOptions,
  ) {}
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && [Object.prototype, null].includes(Object.getPrototypeOf(value) as object | null);

/**
 * Reads a client payload (task options are never read from it; they are `send`'s third argument):
 * - an array is the positional args: `send('tasks.add', [1, 2])`;
 * - an object whose keys are only `args` and `kwargs` is both: `send('tasks.add', { args: [1], kwargs: { y: 2 } })`;
 * - any other plain object is the kwargs: `send('tasks.greet', { name: 'Ada' })`;
 * - anything else is one positional arg.
 * An `{ args | kwargs, options }` object (the form of releases that read options from the
 * payload) is refused with InvalidTaskOptionsError rather than sent as kwargs.
 */
export function readPayload(payload: unknown): CeleryCall {
  if (Array.isArray(payload)) return { args: payload, kwargs: {} };
  if (isPlainObject(payload)) {
    const keys = Object.keys(payload);
    const hasArgs = 'args' in payload || 'kwargs' in payload;
    if (hasArgs && 'options' in payload && keys.every((k) => k === 'args' || k === 'kwargs' || k === 'options')) {
      throw new InvalidTaskOptionsError(
        'task options are not read from the payload: send(pattern, { args, kwargs }, options) (or emit) takes them as the third argument',
      );
    }
    if (hasArgs && keys.every((k) => k === 'args' || k === 'kwargs')) return readFullForm(payload);
    return { args: [], kwargs: payload };
  }
  return { args: payload === undefined ? [] : [payload], kwargs: {} };
}

function readFullForm(payload: Record<string, unknown>): CeleryCall {
  const { args, kwargs } = payload;
  if (args !== undefined && !Array.isArray(args)) throw new TypeError(`Celery payload: "args" must be an array (Celery's positional args), got ${typeof args}`);
  if (kwargs !== undefined && !isPlainObject(kwargs))
    throw new TypeError(`Celery payload: "kwargs" must be a plain object (Celery's kwargs dict), got ${Array.isArray(kwargs) ? 'an array' : typeof kwargs}`);
  return { args: args ?? [], kwargs: kwargs ?? {} };
}

/** The payload and checked options of a packet built by CeleryClient (any other packet data is a bare payload). */
export function readClientCall(data: unknown): CeleryCall & { options: SendTaskOptions } {
  const call = data instanceof CeleryClientCall ? data : new CeleryClientCall(data, {});
  checkSendTaskOptions(call.options);
  return { ...readPayload(call.payload), options: call.options };
}
