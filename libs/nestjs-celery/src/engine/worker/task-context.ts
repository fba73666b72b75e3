// What a task handler sees (TaskContext: id, retries, headers, delivery, abort signal, updateState),
// the handler signature and the per-task options a task is registered with.
import type { SerializerName } from '../../protocol/serialization.js';
import type { Stamps } from '../../protocol/stamps.js';
import type { TaskRequest } from '../../protocol/task-message.js';
import type { DeliveryInfo } from '../../transport/broker.interface.js';
import type { TaskParams } from './task-arguments.js';

/** What `ctx.retry()` takes (Celery's `self.retry(...)` keywords). */
export interface RetryOptions {
  /** seconds until the next attempt; default the task's defaultRetryDelay (180 s) unless `eta` */
  countdown?: number;
  /** absolute time of the next attempt */
  eta?: Date;
  /** the error behind the retry: stored with RETRY, and raised as is once retries run out */
  exc?: unknown;
  /** override the task's maxRetries for this call (null: retry forever) */
  maxRetries?: number | null;
  /** positional arguments of the next attempt (default: the same) */
  args?: unknown[];
  /** keyword arguments of the next attempt (default: the same) */
  kwargs?: Record<string, unknown>;
  /** queue of the next attempt (Celery's `self.retry(queue=…)`; default: the queue it came from) */
  queue?: string;
  /** exchange of the next attempt (default: the one it came through, or the queue's own) */
  exchange?: string;
  /** routing key of the next attempt (default: the queue name when `queue` is given) */
  routingKey?: string;
  /** priority of the next attempt (default: the priority it was delivered with) */
  priority?: number;
}

/** An error class (instanceof), or a predicate given as an arrow function. */
export type AutoretryMatcher = (abstract new (...args: never[]) => unknown) | ((error: unknown) => boolean);

/** What a task handler knows about the message it runs (Celery's `self.request` + helpers). */
export interface TaskContext {
  id: string;
  /** the registered task name */
  task: string;
  retries: number;
  request: TaskRequest;
  headers: Record<string, unknown>;
  /** Celery 5.3+ stamps of this message (Celery's `self.request.stamps`), `{}` when unstamped */
  stamps: Stamps;
  /** the stamp names (Celery's `self.request.stamped_headers`) */
  stampedHeaders: string[];
  deliveryInfo: DeliveryInfo;
  /** the worker's nodename */
  hostname: string;
  /** aborted when the task must stop (soft time limit, revoke --terminate, shutdown) */
  signal: AbortSignal;
  /** Celery's `update_state`: store an intermediate state, e.g. `('PROGRESS', { done: 3, total: 10 })`. */
  updateState(state: string, meta?: unknown): Promise<void>;
  /**
   * Celery's `self.retry()`: publishes the next attempt (same id, retries + 1, after `countdown`
   * seconds — default the task's defaultRetryDelay, 180 s — or at `eta`), then rejects with
   * `Retry`, which the worker stores as RETRY. Past maxRetries it rejects with `exc` if given,
   * else MaxRetriesExceededError (catchable). Use as `return ctx.retry({ exc })` or
   * `throw await ctx.retry(...)`; it never resolves.
   */
  retry(options?: RetryOptions): Promise<never>;
}

/** A task implementation: Celery's positional args and kwargs, plus the context. */
export type TaskHandler = (args: unknown[], kwargs: Record<string, unknown>, context: TaskContext) => unknown;

/** Per-task settings given at registration, named after Celery's task attributes (`@app.task(...)` options). */
export interface TaskOptions {
  /**
   * The handler's parameter names, as a Python `def` lists them: `['x', 'y']`, `'y?'` for one
   * with a default, `'*args'` / `'**kwargs'` for the extras. Given, Celery's args and kwargs are
   * bound to them as Python binds a call (a keyword fills the parameter of that name) and the
   * handler gets them in that order as its positional args, with empty kwargs; a call Python
   * would refuse (missing, unexpected or repeated argument, too many positionals) is a FAILURE
   * with Python's TypeError message. Without it, args and kwargs reach the handler as sent.
   */
  params?: TaskParams;
  /**
   * Celery's task `queue`: where this app sends the task when the send names no queue (below
   * the send's own options, above task_routes and task_default_queue). A worker given no
   * `queues` consumes the queues its tasks name besides the default one.
   */
  queue?: string;
  /**
   * Celery's task `serializer`: how this app encodes the task's messages (its sends, retries,
   * beat entries) unless the send says otherwise; default the app's taskSerializer. The result
   * is stored with the app's resultSerializer (Celery has no per-task one).
   */
  serializer?: SerializerName;
  /** Celery's ignore_result */
  ignoreResult?: boolean;
  /**
   * Celery's store_errors_even_if_ignored: with `ignoreResult`, FAILURE and RETRY are not stored
   * either (Celery's tracer) unless this is set. A message's own `ignore_result` only skips SUCCESS.
   */
  storeErrorsEvenIfIgnored?: boolean;
  /** store STARTED before running (task_track_started) */
  trackStarted?: boolean;
  /**
   * Celery's rate_limit: at most this many tasks of this type start per second, minute or hour
   * on each worker (`'10/s'`, `'100/m'`, `'1000/h'`, a number = per second); the others wait,
   * held in the worker, while other tasks run. Default: the worker's `defaultRateLimit`.
   */
  rateLimit?: string | number | null;

  // ---- retries (celery/app/task.py, celery/app/autoretry.py)
  /** Celery's max_retries: attempts after the first, default 3; null = retry forever */
  maxRetries?: number | null;
  /** Celery's default_retry_delay in seconds, default 180 */
  defaultRetryDelay?: number;
  /** Celery's autoretry_for: error classes (or predicates) that retry the task automatically */
  autoretryFor?: AutoretryMatcher[];
  /** Celery's retry_backoff: exponential backoff factor in seconds for autoretries (true = 1) */
  retryBackoff?: boolean | number;
  /** Celery's retry_backoff_max in seconds, default 600 */
  retryBackoffMax?: number;
  /** Celery's retry_jitter (full jitter on the backoff), default true */
  retryJitter?: boolean;

  // ---- time limits (the message's `timelimit` header wins, as in Celery)
  /** hard time limit in seconds: FAILURE TimeLimitExceeded and the slot is freed */
  timeLimit?: number;
  /** soft time limit in seconds: the task's AbortSignal aborts with SoftTimeLimitExceeded */
  softTimeLimit?: number;

  // ---- acknowledgement (celery/worker/request.py)
  /** Celery's acks_late; default from the worker's ackMode ('late') */
  acksLate?: boolean;
  /** with late ack: ack a failed or timed-out task (default true); false rejects it (dead-letters on AMQP when configured) */
  acksOnFailureOrTimeout?: boolean;
  /**
   * with late ack: a task abandoned because its worker went away (shutdown past the grace
   * period) is requeued (default true in Node); false stores FAILURE WorkerLostError, as Celery
   * does for a lost pool process.
   */
  rejectOnWorkerLost?: boolean;
}
