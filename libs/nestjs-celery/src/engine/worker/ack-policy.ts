/**
 * When a task's message is acked or rejected (celery/worker/request.py `on_accepted`,
 * `on_success`, `on_retry`, `on_failure`, `on_timeout`).
 *
 * - late ack (this library's default, Celery's `acks_late=True`): settle after the outcome is
 *   stored, so a crash at any point before leaves the message unacked and the broker redelivers
 *   it (the task may run twice, it is never lost);
 * - early ack (Celery's default): ack as the task starts. A crash while it runs loses the task:
 *   nothing redelivers it and no outcome is stored, exactly Celery's trade-off.
 *
 * With late ack, `acksOnFailureOrTimeout: false` rejects (no requeue) failed and timed-out
 * tasks instead of acking them, which sends them to a dead-letter exchange when the queue has
 * one (RabbitMQ `x-dead-letter-exchange`).
 */
import type { Delivery } from '../../transport/broker.interface.js';
import type { PrefetchWindow } from './prefetch-window.js';
import type { TaskOptions } from './task-context.js';

/** When a task's message is acknowledged: `late` after its outcome is stored (Celery's `acks_late`), `early` before it runs (Celery's default). */
export type AckMode = 'late' | 'early';

/** Worker-wide defaults (Celery's task_acks_late, task_acks_on_failure_or_timeout, task_reject_on_worker_lost). */
export interface AckDefaults {
  ackMode?: AckMode;
  acksOnFailureOrTimeout?: boolean;
  rejectOnWorkerLost?: boolean;
}

export interface AckSettings {
  acksLate: boolean;
  acksOnFailureOrTimeout: boolean;
  rejectOnWorkerLost: boolean;
}

/** The task's own options win over the worker's. */
export function ackSettings(task: TaskOptions, worker: AckDefaults): AckSettings {
  return {
    acksLate: task.acksLate ?? (worker.ackMode ?? 'late') === 'late',
    acksOnFailureOrTimeout: task.acksOnFailureOrTimeout ?? worker.acksOnFailureOrTimeout ?? true,
    rejectOnWorkerLost: task.rejectOnWorkerLost ?? worker.rejectOnWorkerLost ?? true,
  };
}

const SETTLED: Promise<void> = Promise.resolve();

/** What ended a run, as far as the message is concerned. */
export type RunEnd = 'success' | 'retry' | 'ignored' | 'failure' | 'timeout';

/** Settles one task's message per the ack settings; also keeps the window right for early acks. */
export class TaskAck {
  private countAgain?: () => void;

  constructor(
    private readonly delivery: Delivery,
    readonly settings: AckSettings,
    private readonly window: PrefetchWindow,
  ) {}

  /** true once the message was acked on start (nothing can requeue it any more) */
  get ackedEarly(): boolean {
    return this.countAgain !== undefined;
  }

  /** The task is about to run (Celery's on_accepted): early ack. With late ack nothing to do, and no promise. */
  accepted(): Promise<void> | undefined {
    if (this.settings.acksLate) return undefined;
    this.countAgain = this.window.ackedEarly();
    return this.delivery.ack();
  }

  /**
   * Ack a late-ack message now, before its outcome is stored (the broker's consumer timeout is
   * near); from here on it is settled as if acked early.
   */
  ackNow(): Promise<void> {
    if (this.countAgain) return Promise.resolve();
    this.countAgain = this.window.ackedEarly();
    return this.delivery.ack();
  }

  /**
   * The outcome is stored (or there is none to store). Not async: the delivery's own promise is
   * handed back, so a task's settle costs no extra promise and no extra turn of the microtask queue.
   */
  ended(end: RunEnd): Promise<void> {
    this.countAgain?.();
    if (!this.settings.acksLate) return SETTLED;
    try {
      if ((end === 'failure' || end === 'timeout') && !this.settings.acksOnFailureOrTimeout) return this.delivery.reject(false);
      return this.delivery.ack();
    } catch (error) {
      // a delivery that throws instead of rejecting fails the same way as through an async method
      return Promise.reject(error);
    }
  }

  /** Reject the message (Reject raised by the task; the outcome could not be stored). */
  async reject(requeue: boolean): Promise<void> {
    this.countAgain?.();
    await this.delivery.reject(requeue);
  }
}
