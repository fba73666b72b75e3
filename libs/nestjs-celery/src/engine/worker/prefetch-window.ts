/**
 * How many tasks a worker runs at once, and how many messages it lets the broker hand it.
 *
 * The window is Celery's worker prefetch with a multiplier of 1: `concurrency` unsettled
 * messages, so a worker never holds a message it is not running and idle workers get the rest.
 * Two things move it, the way Celery's `qos.increment_eventually` / `decrement_eventually` do:
 * - a message held unacked but not running (an ETA task waiting for its time, an unknown task
 *   waiting to be requeued) is set aside: the window grows by one while it waits;
 * - a running task whose message was already acked (early ack) no longer counts at the broker:
 *   the window shrinks by one until it finishes (never below 1, as AMQP's 0 means unlimited).
 * The slots themselves are a local semaphore, so an ETA task that comes due while every slot is
 * busy waits for one.
 * `etaTaskLimit` (Celery 5.6's worker_eta_task_limit) caps how many held messages grow the
 * window, so a queue full of ETA tasks cannot pull them all into memory; beyond it, held
 * messages take slots and the worker stops fetching until some run. 0 (worker_disable_prefetch)
 * never grows it: the worker fetches only what it can run.
 * Under autoscale the window's base is the autoscaler's max while the slots are the pool's size
 * now (possibly 0), as Celery's prefetch count is max × multiplier whatever the pool holds.
 */
import type { Consumer } from '../../transport/broker.interface.js';

export class PrefetchWindow {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private aside = 0;
  private acked = 0;
  private consumer?: Consumer;

  constructor(
    private slots: number,
    private readonly etaTaskLimit = Number.POSITIVE_INFINITY,
    /** the window's base: `slots` unless autoscale sets its max */
    private prefetch = slots,
  ) {}

  get concurrency(): number {
    return this.slots;
  }

  /** pool_grow / pool_shrink / autoscale: a new number of slots and window base; tasks over fewer slots finish first. */
  resize(slots: number, prefetch = slots): void {
    this.slots = Math.max(0, slots);
    this.prefetch = prefetch;
    while (this.running < this.slots && this.waiting.length) {
      this.running++;
      this.waiting.shift()!();
    }
    this.update();
  }

  /** The window the broker should apply now. */
  get size(): number {
    return Math.max(1, this.prefetch + Math.min(this.aside, this.etaTaskLimit) - this.acked);
  }

  get busy(): number {
    return this.running;
  }

  /** Tasks holding a slot or waiting for one (the autoscaler's demand: Celery's reserved requests). */
  get demand(): number {
    return this.running + this.waiting.length;
  }

  /** Follow this consumer (undefined: stop following); applies the current window. */
  attach(consumer: Consumer | undefined): void {
    this.consumer = consumer;
    if (this.size !== this.prefetch) this.update();
  }

  /** Wait for a free slot; resolves with its release (idempotent). */
  async acquire(): Promise<() => void> {
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    return once(this.release);
  }

  /** A free slot's release right now, or undefined when every slot is taken (then acquire() waits). */
  tryAcquire(): (() => void) | undefined {
    // waiters go first: a slot freed while they wait is already handed to them
    if (this.running >= this.concurrency || this.waiting.length) return undefined;
    this.running++;
    return once(this.release);
  }

  private readonly release = (): void => {
    // hand the slot straight to the next waiter, unless the window shrank under the tasks running
    const next = this.running <= this.slots ? this.waiting.shift() : undefined;
    if (next) next();
    else this.running--;
  };

  /** A held message stops counting; the returned function counts it again (idempotent). */
  setAside(): () => void {
    this.aside++;
    this.update();
    return once(() => {
      this.aside--;
      this.update();
    });
  }

  /** Call right before an early ack; the returned function when the task is done (idempotent). */
  ackedEarly(): () => void {
    this.acked++;
    this.update();
    return once(() => {
      this.acked--;
      this.update();
    });
  }

  private update(): void {
    this.consumer?.setPrefetch?.(this.size);
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
