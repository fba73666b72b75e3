/**
 * ETA and countdown tasks (celery/worker/strategy.py `default`, consumer.py `apply_eta_task`):
 * the message is held unacked in memory until it is due, set aside from the prefetch window
 * (so it does not take the slot of a runnable task), then run. On Redis the broker consumer
 * keeps held deliveries' unacked_index fresh, so a wait longer than the visibility timeout does
 * not get the message restored and run a second time (Celery 5.2 does run it twice).
 * A held message whose delivery is lost (its AMQP channel closed: RabbitMQ requeued it and
 * delivers it again) is dropped from memory, so it runs once, from its new delivery. Before
 * RabbitMQ's consumer_timeout would close the channel over a long wait, the message is moved:
 * republished unchanged to its queue (its ETA is absolute, so the remaining delay is kept), then
 * the held delivery acked.
 */
import type { Delivery } from '../../transport/broker.interface.js';
import type { ConsumerTimeoutGuard } from './consumer-timeout.js';
import type { PrefetchWindow } from './prefetch-window.js';

/** How held messages leave before the broker's consumer timeout (AMQP only). */
export interface EtaMove {
  readonly guard: ConsumerTimeoutGuard;
  /** publish the message again to the queue it came from; rejects when the broker did not confirm it */
  republish(delivery: Delivery): Promise<void>;
  /** the republish failed: the message is requeued instead */
  failed(delivery: Delivery, error: unknown): void;
}

/** setTimeout's ceiling (~24.8 days); longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Held {
  delivery: Delivery;
  timer?: NodeJS.Timeout;
  /** counts the delivery in the window again */
  countAgain: () => void;
  /** resolves the promise returned by hold() */
  release: () => void;
  /** stops the consumer-timeout guard and the lost-delivery listener */
  forget: () => void;
}

export class EtaScheduler {
  private readonly held = new Set<Held>();

  constructor(
    private readonly window: PrefetchWindow,
    private readonly move?: EtaMove,
  ) {}

  /** Messages waiting for their ETA. */
  get size(): number {
    return this.held.size;
  }

  /**
   * Hold `delivery` until `eta`, then `run()` it (the delivery counts in the window again from
   * then on; `aside` false: it counts all along). Resolves once run() settled, or once the
   * delivery was given back by releaseAll().
   */
  hold(delivery: Delivery, eta: Date, run: () => Promise<void>, aside = true): Promise<void> {
    return new Promise<void>((resolve) => {
      const { lost } = delivery;
      if (lost?.aborted) return resolve();
      const entry: Held = { delivery, countAgain: aside ? this.window.setAside() : () => undefined, release: resolve, forget: () => undefined };
      this.held.add(entry);
      const dropLost = () => this.take(entry) && entry.release();
      lost?.addEventListener('abort', dropLost, { once: true });
      const untrack = this.move?.guard.track(entry, () => void this.moveOut(entry));
      entry.forget = () => {
        lost?.removeEventListener('abort', dropLost);
        untrack?.();
      };
      const arm = () => {
        const left = eta.getTime() - Date.now();
        if (left > 0) {
          entry.timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
          return;
        }
        if (!this.take(entry)) return;
        run().then(resolve, resolve);
      };
      arm();
    });
  }

  /** Stop holding `entry` (timer, window, listeners); false when it was taken already. */
  private take(entry: Held): boolean {
    if (!this.held.delete(entry)) return false;
    clearTimeout(entry.timer);
    entry.forget();
    entry.countAgain();
    return true;
  }

  /** Before the consumer timeout: republish, then ack; if the republish fails, requeue. */
  private async moveOut(entry: Held): Promise<void> {
    if (!this.take(entry)) return;
    const { delivery } = entry;
    try {
      await this.move!.republish(delivery);
      await delivery.ack();
    } catch (error) {
      this.move!.failed(delivery, error);
      await delivery.reject(true).catch(() => undefined);
    }
    entry.release();
  }

  /** Worker stop: every held message goes back to its queue now (requeued, never acked). */
  async releaseAll(): Promise<void> {
    for (const entry of [...this.held]) {
      if (!this.take(entry)) continue;
      await entry.delivery.reject(true).catch(() => undefined);
      entry.release();
    }
  }
}
