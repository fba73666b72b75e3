// The messages a process pool's parent and children exchange over the IPC channel, and how a
// task's error crosses it keeping its Python shape (type, module, args, traceback) and predicate.
import { serializeException, type ExceptionInfo } from '../../../protocol/exceptions.js';
import { pythonError } from '../../../protocol/python-errors.js';
import type { TaskRequest } from '../../../protocol/task-message.js';
import { Ignore, Reject, Retry } from '../../../protocol/task-predicates.js';
import type { DeliveryInfo } from '../../../transport/broker.interface.js';

/** An error as it crosses the channel: Celery's exception fields, the JS stack, and which predicate it was. */
export interface WireError {
  info: ExceptionInfo;
  stack?: string;
  predicate?: 'Retry' | 'Reject' | 'Ignore';
  requeue?: boolean;
}

/** The task fields a child's TaskContext shows. */
export interface WireTask {
  request: TaskRequest;
  deliveryInfo: DeliveryInfo;
  hostname: string;
}

/** A task a child registered, as the parent registers it too (routing, acks, limits and results happen there). */
export interface PoolTask {
  name: string;
  options: Record<string, string | number | boolean | null>;
}

/** The parent's messages. */
export type ToChild =
  | { t: 'run'; job: number; task: WireTask }
  /** the task's AbortSignal, aborted in the parent (soft time limit) */
  | { t: 'abort'; job: number; reason: WireError }
  | { t: 'reply'; call: number; error?: WireError };

/** A child's messages. */
export type FromChild =
  /** the entry is loaded: its tasks, with the options that are plain values (acks, limits, ignore_result…) */
  | { t: 'ready'; tasks: PoolTask[] }
  | { t: 'failed'; error: WireError }
  | { t: 'done'; job: number; value?: unknown; error?: WireError; rss: number }
  /** a TaskContext method run by the parent: updateState publishes a state, retry publishes the next attempt */
  | { t: 'call'; call: number; job: number; method: 'updateState' | 'retry'; args: unknown[] };

export function toWireError(error: unknown): WireError {
  const wire: WireError = { info: serializeException(error), stack: error instanceof Error ? error.stack : undefined };
  if (error instanceof Retry) wire.predicate = 'Retry';
  else if (error instanceof Reject) Object.assign(wire, { predicate: 'Reject', requeue: error.requeue });
  else if (error instanceof Ignore) wire.predicate = 'Ignore';
  return wire;
}

/** The error again, on the other side: the same Python type and args (or predicate), the child's stack for the traceback. */
export function fromWireError(wire: WireError): Error {
  const { info } = wire;
  let error: Error;
  // a Retry's own fields stay with the side that published the next attempt (the parent)
  if (wire.predicate === 'Retry') error = new Retry();
  else if (wire.predicate === 'Reject') error = new Reject(info.exc_message[0] ?? null, !!wire.requeue);
  else if (wire.predicate === 'Ignore') error = new Ignore(...info.exc_message);
  else error = pythonError(info.exc_type, info.exc_message, info.exc_module);
  if (wire.stack) error.stack = wire.stack;
  return error;
}
