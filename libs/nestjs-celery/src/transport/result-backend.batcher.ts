/**
 * Coalesces calls made in the same turn of the event loop into one batched operation (one
 * SUBSCRIBE with many channels, one MGET with many keys): a client publishing thousands of
 * tasks per second would otherwise pay one round trip per task.
 */
export class TickBatcher<K, R> {
  private pending = new Map<K, { resolve: (r: R) => void; reject: (e: unknown) => void }[]>();
  private scheduled = false;

  /**
   * @param run executes one batch; resolves with one result per key, in order
   * @param maxBatch largest batch handed to `run` (bigger bursts are split)
   */
  constructor(
    private readonly run: (keys: K[]) => Promise<R[]>,
    private readonly maxBatch = 1000,
  ) {}

  /** Queue `key`; resolves with its result once its batch ran. Duplicate keys share one slot. */
  add(key: K): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const waiters = this.pending.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(key, [{ resolve, reject }]);
      this.schedule();
    });
  }

  /** Reject everything still queued. */
  rejectAll(error: unknown): void {
    const pending = this.pending;
    this.pending = new Map();
    for (const waiters of pending.values()) for (const w of waiters) w.reject(error);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate rather than a microtask: lets a burst of async callers all queue first
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = new Map();
    const keys = [...batch.keys()];
    for (let i = 0; i < keys.length; i += this.maxBatch) {
      const chunk = keys.slice(i, i + this.maxBatch);
      this.run(chunk).then(
        (results) => chunk.forEach((k, j) => batch.get(k)!.forEach((w) => w.resolve(results[j]))),
        (error: unknown) => chunk.forEach((k) => batch.get(k)!.forEach((w) => w.reject(error))),
      );
    }
  }
}
