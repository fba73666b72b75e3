/**
 * ETA and countdown tasks (celery/worker/strategy.py `default`, consumer.py `apply_eta_task`):
 * the message is held unacked in memory until it is due, set aside from the prefetch window
 * (so it does not take the slot of a runnable task), then run. On Redis the broker consumer
 * keeps held deliveries' unacked_index fresh, so a wait longer than the visibility timeout does
 * not get the message restored and run a second time (Celery 5.2 does run it twice).
 */
import type { Delivery } from '../../transport/broker.interface.js';
import type { PrefetchWindow } from './prefetch-window.js';

/** setTimeout's ceiling (~24.8 days); longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Held {
  delivery: Delivery;
  timer?: NodeJS.Timeout;
  /** counts the delivery in the window again */
  countAgain: () => void;
  /** resolves the promise returned by hold() */
  release: () => void;
}

export class EtaScheduler {
  private readonly held = new Set<Held>();

  constructor(private readonly window: PrefetchWindow) {}

  /** Messages waiting for their ETA. */
  get size(): number {
    return this.held.size;
  }

  /**
   * Hold `delivery` until `eta`, then `run()` it (the delivery counts in the window again from
   * then on). Resolves once run() settled, or once the delivery was given back by releaseAll().
   */
  hold(delivery: Delivery, eta: Date, run: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve) => {
      const entry: Held = { delivery, countAgain: this.window.setAside(), release: resolve };
      this.held.add(entry);
      const arm = () => {
        const left = eta.getTime() - Date.now();
        if (left > 0) {
          entry.timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
          return;
        }
        this.held.delete(entry);
        entry.countAgain();
        run().then(resolve, resolve);
      };
      arm();
    });
  }

  /** Worker stop: every held message goes back to its queue now (requeued, never acked). */
  async releaseAll(): Promise<void> {
    const entries = [...this.held];
    this.held.clear();
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.countAgain();
      await entry.delivery.reject(true).catch(() => undefined);
      entry.release();
    }
  }
}
