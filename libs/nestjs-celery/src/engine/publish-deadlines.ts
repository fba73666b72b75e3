/**
 * Fails publishes the broker has not confirmed in time, with one sweeping interval instead of
 * a timer per publish (publishing is the client's hot path). Deadlines are checked about once a
 * second, so a timeout fires up to a second late.
 */
export class PublishDeadlines {
  /** insertion order is deadline order: every entry gets the same timeout */
  private readonly pending = new Map<number, { deadline: number; expire: () => void }>();
  private seq = 0;
  private timer?: NodeJS.Timeout;

  constructor(readonly timeoutMs: number) {}

  /** `confirmed`, or `onTimeout()` once the deadline has passed without it. */
  track<T>(confirmed: Promise<T>, onTimeout: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = ++this.seq;
      this.pending.set(id, { deadline: Date.now() + this.timeoutMs, expire: () => reject(onTimeout()) });
      this.timer ??= setInterval(() => this.sweep(), Math.min(1000, this.timeoutMs)).unref();
      confirmed.then(
        (value) => {
          this.pending.delete(id);
          resolve(value);
        },
        (error: unknown) => {
          this.pending.delete(id);
          reject(error);
        },
      );
    });
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, entry] of this.pending) {
      if (entry.deadline > now) break;
      this.pending.delete(id);
      entry.expire();
    }
    if (this.pending.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
