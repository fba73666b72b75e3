/**
 * Task retries as Celery does them inside the worker (celery/app/task.py `Task.retry`,
 * `signature_from_request`; celery/app/autoretry.py; celery/utils/time.py
 * `get_exponential_backoff_interval`).
 *
 * Order matters and is Celery's: the next attempt is published first (same task id,
 * retries + 1), then the handler fails with `Retry`, then the worker stores RETRY, then the
 * original message is acked. A crash between any two steps loses nothing: before the publish the
 * original is still unacked (redelivered, runs again); after it, at worst both the new message
 * and the redelivered original exist (the task runs once more than asked, which at-least-once
 * delivery allows anyway); the RETRY state is informative only.
 */
import { pyArgsRepr, pyRepr } from '../../protocol/repr.js';
import { MaxRetriesExceededError } from '../../protocol/python-errors.js';
import { Retry } from '../../protocol/task-predicates.js';
import type { TaskRequest } from '../../protocol/task-message.js';
import type { DeliveryInfo } from '../../transport/broker.interface.js';
import type { Celery, SendTaskOptions } from '../celery.js';
import type { AutoretryMatcher, RetryOptions, TaskContext, TaskOptions } from './task-context.js';

// declared beside TaskContext, which takes them, so task-context.ts need not import this module
export type { AutoretryMatcher, RetryOptions } from './task-context.js';
import { isDelayedDeliveryExchange, stripDelayPrefix } from '../../transport/delayed-delivery-names.js';

/** Celery's Task.default_retry_delay: 3 minutes. */
export const DEFAULT_RETRY_DELAY_SECONDS = 180;
/** Celery's Task.max_retries. */
export const DEFAULT_MAX_RETRIES = 3;
/** Celery's retry_backoff_max: 10 minutes. */
export const DEFAULT_RETRY_BACKOFF_MAX_SECONDS = 600;

/**
 * Celery's get_exponential_backoff_interval: `min(maximum, factor × 2^retries)` whole seconds,
 * then with full jitter a uniform pick from 0 to that value (random.randrange(countdown + 1)).
 */
export function exponentialBackoff(factor: number, retries: number, maximum: number, fullJitter: boolean, random: () => number = Math.random): number {
  let countdown = Math.min(maximum, factor * 2 ** retries);
  if (fullJitter) countdown = Math.floor(random() * (Math.floor(countdown) + 1));
  return Math.max(0, countdown);
}

type Route = Pick<SendTaskOptions, 'queue' | 'exchange' | 'routingKey'>;

/**
 * Where the next attempt is published: where `retry()` says (Celery passes queue, exchange and
 * routing_key on to apply_async), else the queue it came from (signature_from_request).
 */
function routeOf(info: DeliveryInfo, options: RetryOptions): Route {
  if (options.queue !== undefined || options.exchange !== undefined || options.routingKey !== undefined) {
    const route: Route = {};
    if (options.queue !== undefined) route.queue = options.queue;
    if (options.exchange !== undefined) route.exchange = options.exchange;
    if (options.routingKey !== undefined) route.routingKey = options.routingKey;
    return route;
  }
  // sent to the anonymous exchange: back to the queue named by the routing key
  if (info.exchange === '' && info.routingKey) return { queue: info.routingKey };
  // came through native delayed delivery: back to its queue (the retry's countdown picks its own route)
  if (isDelayedDeliveryExchange(info.exchange)) return { queue: info.queue };
  return { queue: info.queue, exchange: info.exchange, routingKey: stripDelayPrefix(info.routingKey) };
}

export interface RetryScope {
  app: Celery;
  request: TaskRequest;
  deliveryInfo: DeliveryInfo;
  /** the priority the message was delivered with (kept for the next attempt) */
  priority?: number;
  task: Pick<TaskOptions, 'maxRetries' | 'defaultRetryDelay'>;
}

/**
 * `ctx.retry()`: publish the next attempt and reject with `Retry` (or, past maxRetries, with
 * `exc` or MaxRetriesExceededError, which the handler may catch). Never resolves.
 */
export async function retryTask(scope: RetryScope, options: RetryOptions = {}): Promise<never> {
  const { app, request, task } = scope;
  const retries = request.retries + 1;
  const maxRetries = options.maxRetries !== undefined ? options.maxRetries : task.maxRetries !== undefined ? task.maxRetries : DEFAULT_MAX_RETRIES;
  const args = options.args ?? request.args;
  const kwargs = options.kwargs ?? request.kwargs;
  if (maxRetries !== null && retries > maxRetries) {
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- Celery re-raises the task's own exc, whatever it is
    if (options.exc !== undefined && options.exc !== null) throw options.exc;
    throw new MaxRetriesExceededError(`Can't retry ${request.name}[${request.id}] args:${pyArgsRepr(args)} kwargs:${pyRepr(kwargs)}`);
  }
  const countdown = options.eta || options.countdown !== undefined ? options.countdown : (task.defaultRetryDelay ?? DEFAULT_RETRY_DELAY_SECONDS);
  const [hard, soft] = request.timeLimit;
  const { embed } = request;
  await app.sendTask(request.task, args, kwargs, {
    ...routeOf(scope.deliveryInfo, options),
    taskId: request.id,
    // a countdown stays a countdown: sendTask turns it into the ETA and the delay level from one clock
    // reading, so a 2 s retry takes celery_delayed_*'s 2 s route as Python's does (not 1.99 s → 1 s)
    ...(options.eta ? { eta: options.eta } : { countdown: countdown ?? 0 }),
    expires: request.expires ?? undefined,
    retries,
    timeLimit: hard ?? undefined,
    softTimeLimit: soft ?? undefined,
    rootId: request.rootId,
    // apply_async from inside the task: a top-level task becomes its own retry's parent (send_task)
    parentId: request.parentId ?? request.id,
    groupId: request.groupId ?? undefined,
    groupIndex: request.groupIndex ?? undefined,
    shadow: request.headers.shadow ?? undefined,
    ignoreResult: request.ignoreResult,
    priority: options.priority ?? scope.priority,
    replyTo: request.replyTo ?? undefined,
    link: embed.callbacks ?? undefined,
    linkError: embed.errbacks ?? undefined,
    chain: embed.chain ?? undefined,
    chord: embed.chord ?? undefined,
    // Celery's signature_from_request: the next attempt keeps the stamps
    stamps: request.stampedHeaders.length ? request.stamps : undefined,
    awaitResult: false,
  });
  throw new Retry(options.exc ?? null, options.eta ?? countdown ?? 0);
}

function matches(error: unknown, matchers: readonly AutoretryMatcher[]): boolean {
  // classes (and function declarations) have a prototype; arrow functions don't
  return matchers.some((m) =>
    m.prototype !== undefined ? error instanceof (m as abstract new () => unknown) : (m as (e: unknown) => boolean)(error) === true,
  );
}

/**
 * Celery's autoretry_for around one run of a handler: errors that match become
 * `ctx.retry({ exc })`, with exponential backoff and full jitter when retryBackoff is set
 * (otherwise the task's defaultRetryDelay). Retry itself is never caught.
 */
export function withAutoretry(run: () => Promise<unknown>, options: TaskOptions, ctx: Pick<TaskContext, 'retries' | 'retry'>): () => Promise<unknown> {
  const matchers = options.autoretryFor ?? [];
  if (matchers.length === 0) return run;
  // Celery: int(retry_backoff), so True is a factor of 1
  const factor = options.retryBackoff === true ? 1 : options.retryBackoff || 0;
  const maximum = options.retryBackoffMax ?? DEFAULT_RETRY_BACKOFF_MAX_SECONDS;
  const jitter = options.retryJitter ?? true;
  return async () => {
    try {
      return await run();
    } catch (error) {
      if (error instanceof Retry || !matches(error, matchers)) throw error;
      const countdown = factor ? exponentialBackoff(factor, ctx.retries, maximum, jitter) : undefined;
      return ctx.retry({ exc: error, countdown });
    }
  };
}
