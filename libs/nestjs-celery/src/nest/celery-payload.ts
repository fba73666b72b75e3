import type { SendTaskOptions } from '../engine/celery.js';

/** What a Celery handler receives as RPC data (`@Payload()`, `switchToRpc().getData()`). */
export interface CeleryPayload<A extends unknown[] = unknown[], K extends object = Record<string, unknown>> {
  args: A;
  kwargs: K;
}

/** A call as `CeleryClient.send`/`emit` read their payload. */
export interface CeleryCall {
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: SendTaskOptions;
}

const PAYLOAD_KEYS = new Set(['args', 'kwargs', 'options']);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && [Object.prototype, null].includes(Object.getPrototypeOf(value));

/**
 * Reads a client payload:
 * - an array is the positional args: `send('tasks.add', [1, 2])`;
 * - an object whose keys are only `args`, `kwargs` and `options` (with `args` or `kwargs`
 *   among them) is the full form: `send('tasks.add', { args: [1], kwargs: { y: 2 }, options: { countdown: 5 } })`;
 * - any other plain object is the kwargs: `send('tasks.greet', { name: 'Ada' })`;
 * - anything else is one positional arg.
 */
export function readPayload(payload: unknown): CeleryCall {
  if (Array.isArray(payload)) return { args: payload, kwargs: {}, options: {} };
  if (isPlainObject(payload)) {
    const keys = Object.keys(payload);
    const full = keys.length > 0 && keys.every((k) => PAYLOAD_KEYS.has(k)) && ('args' in payload || 'kwargs' in payload);
    if (full && isFullForm(payload)) {
      return { args: (payload.args as unknown[]) ?? [], kwargs: (payload.kwargs as Record<string, unknown>) ?? {}, options: (payload.options as SendTaskOptions) ?? {} };
    }
    return { args: [], kwargs: payload, options: {} };
  }
  return { args: payload === undefined ? [] : [payload], kwargs: {}, options: {} };
}

function isFullForm(payload: Record<string, unknown>): boolean {
  const { args, kwargs, options } = payload;
  if (args !== undefined && !Array.isArray(args)) throw new TypeError(`Celery payload: "args" must be an array (Celery's positional args), got ${typeof args}`);
  if (kwargs !== undefined && !isPlainObject(kwargs)) throw new TypeError(`Celery payload: "kwargs" must be a plain object (Celery's kwargs dict), got ${Array.isArray(kwargs) ? 'an array' : typeof kwargs}`);
  if (options !== undefined && !isPlainObject(options)) throw new TypeError('Celery payload: "options" must be a plain object of send options (countdown, queue, priority …)');
  return true;
}
