/**
 * RabbitMQ's `consumer_timeout` (30 min by default): a channel that holds a delivery unacked for
 * longer is closed by the broker, and every delivery on it goes back to the queue. This guard
 * notices deliveries held for most of that time, so the worker settles them first (an ETA task is
 * republished with its ETA unchanged, a long late-ack task is acked).
 */

/** Default of `consumerTimeoutMs`: RabbitMQ's default consumer_timeout. */
export const DEFAULT_CONSUMER_TIMEOUT_MS = 30 * 60_000;

/** A delivery is settled once it has been held this share of the broker's timeout. */
const ACT_AT = 0.75;

interface Tracked {
  readonly since: number;
  readonly onDue: () => void;
}

export class ConsumerTimeoutGuard {
  /** insertion order is age order: the oldest entries come first */
  private readonly tracked = new Map<object, Tracked>();
  private timer?: NodeJS.Timeout;
  /** a delivery held this long is settled now */
  readonly actAfterMs: number;
  private readonly sweepMs: number;

  /** `timeoutMs`: the broker's consumer_timeout in milliseconds. */
  constructor(readonly timeoutMs: number) {
    this.actAfterMs = Math.floor(timeoutMs * ACT_AT);
    this.sweepMs = Math.max(50, Math.min(30_000, Math.floor(timeoutMs / 20)));
  }

  /** Call `onDue` once `key` has been held `actAfterMs`; the returned function stops tracking it. */
  track(key: object, onDue: () => void): () => void {
    this.tracked.set(key, { since: Date.now(), onDue });
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), this.sweepMs);
      this.timer.unref();
    }
    return () => this.untrack(key);
  }

  /** Stop tracking everything (worker stop). */
  close(): void {
    this.tracked.clear();
    this.stopTimer();
  }

  private untrack(key: object): void {
    this.tracked.delete(key);
    if (this.tracked.size === 0) this.stopTimer();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private sweep(): void {
    const due = Date.now() - this.actAfterMs;
    for (const [key, entry] of this.tracked) {
      if (entry.since > due) break;
      this.untrack(key);
      entry.onDue();
    }
  }
}
