// The task lifecycle as Celery's signals name it (celery/signals.py): what an observer (metrics,
// tracing, your own) can watch, and TaskSignals, which the client and the worker call at each point.
import type { ExceptionInfo } from '../../protocol/exceptions.js';
import type { TaskRequest } from '../../protocol/task-message.js';

/** A task about to be published (before_task_publish): its headers may still be added to. */
export interface PublishedTask {
  task: string;
  id: string;
  /** the queue the client declared and routes to */
  queue: string;
  exchange: string;
  routingKey: string;
  /** the message headers, mutable until the publish: trace context and the sent time go here */
  readonly headers: Record<string, unknown>;
}

/** A task message on the worker side: the request and the queue it was consumed from. */
export interface ReceivedTask {
  readonly request: TaskRequest;
  readonly queue: string;
  readonly routingKey: string;
  /** the worker's nodename */
  readonly hostname: string;
}

/** What a worker shows its observers: its nodename and how many tasks it holds. */
export interface ObservedWorker {
  readonly hostname: string;
  /** tasks running now */
  readonly activeCount: number;
  /** tasks received and not started: reserved, or waiting for their ETA (the prefetched ones) */
  readonly prefetchedCount: number;
}

/** Why a task was stored REVOKED: a revoke command, its `expires` passed, or terminated while running. */
export type RevokedReason = 'revoked' | 'expired' | 'terminated';

/**
 * An observer of the task lifecycle; every method is optional. They are called synchronously and
 * must not throw (a throw is caught and ignored: observing never changes what the worker does).
 */
export interface TaskSignalObserver {
  /** before_task_publish; the function returned is after_task_publish, called with the error when the publish failed */
  beforeTaskPublish?(task: PublishedTask): ((error?: unknown) => void) | void;
  /** task_received: the worker accepted the message for running (now or at its ETA) */
  taskReceived?(task: ReceivedTask): void;
  /** task_prerun: the task is about to run */
  taskPrerun?(task: ReceivedTask): void;
  /**
   * Wraps the run of a task, from prerun to its stored outcome (handler, retries it publishes,
   * canvas continuations): tracing makes its span the active context here.
   */
  wrapRun?<T>(task: ReceivedTask, run: () => Promise<T>): Promise<T>;
  /** task_success (outcome stored) */
  taskSuccess?(task: ReceivedTask): void;
  /** task_failure (outcome stored) */
  taskFailure?(task: ReceivedTask, exception: ExceptionInfo | null): void;
  /** task_retry: the next attempt is published */
  taskRetry?(task: ReceivedTask, reason: ExceptionInfo | null): void;
  /** task_revoked: REVOKED stored (revoked, expired, or terminated while running) */
  taskRevoked?(task: ReceivedTask, reason: RevokedReason): void;
  /** task_rejected: the task rejected its message (Celery's Reject) */
  taskRejected?(task: ReceivedTask, requeue: boolean): void;
  /** task_postrun: a task that ran is done with, whatever its fate */
  taskPostrun?(task: ReceivedTask, state: string | null): void;
  /** worker_ready / worker_shutdown */
  workerReady?(worker: ObservedWorker): void;
  /** worker_shutdown: the worker stopped consuming and is shutting down. */
  workerShutdown?(worker: ObservedWorker): void;
}

type Hook = Exclude<keyof TaskSignalObserver, 'beforeTaskPublish' | 'wrapRun'>;

/** The observers of one app, called at each point of the lifecycle; empty costs nothing. */
export class TaskSignals {
  private readonly wrappers: TaskSignalObserver[];

  constructor(readonly observers: readonly TaskSignalObserver[] = []) {
    this.wrappers = observers.filter((o) => typeof o.wrapRun === 'function');
  }

  get enabled(): boolean {
    return this.observers.length > 0;
  }

  /** before_task_publish on every observer; the function returned runs their after_task_publish. */
  beforeTaskPublish(task: PublishedTask): (error?: unknown) => void {
    const after: ((error?: unknown) => void)[] = [];
    for (const observer of this.observers) {
      const done = guarded(() => observer.beforeTaskPublish?.(task));
      if (done) after.push(done);
    }
    return (error) => {
      for (const done of after) guarded(() => done(error));
    };
  }

  /** Run `run` inside every observer's wrapRun (the first observer outermost). */
  wrapRun<T>(task: ReceivedTask, run: () => Promise<T>): Promise<T> {
    return this.wrappers.reduceRight<() => Promise<T>>((inner, observer) => () => observer.wrapRun!(task, inner), run)();
  }

  emit<H extends Hook>(hook: H, ...args: Parameters<NonNullable<TaskSignalObserver[H]>>): void {
    for (const observer of this.observers) {
      const fn = observer[hook] as ((...a: unknown[]) => void) | undefined;
      if (fn) guarded(() => fn.apply(observer, args));
    }
  }
}

function guarded<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
