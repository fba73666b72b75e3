/**
 * Coalesces calls made in the same turn of the event loop into one batched operation (one
 * SUBSCRIBE with many channels, one MGET with many keys, one script call storing many results,
 * one ZREM/HDEL acking many deliveries): a client publishing or a worker finishing thousands of
 * tasks per second would otherwise pay one command per task.
 *
 * The batch goes out as soon as the batcher is idle, like Nagle's algorithm: with no batch of its
 * own awaiting a reply, what was queued goes at the end of the current job (a microtask: the calls
 * made by the same code path still share it), so a lone call does not wait for the turn to end;
 * while a batch is in flight, calls gather until the end of the turn (setImmediate) as before.
 */

/** A bound on what one batch carries besides its count (e.g. bytes). */
export interface BatchWeight<K> {
  of(key: K): number;
  /** a batch stops before the key that would take it over this (a key alone may exceed it) */
  max: number;
}
export class TickBatcher<K, R> {
  private pending = new Map<K, { resolve: (r: R) => void; reject: (e: unknown) => void }[]>();
  private scheduled = false;
  /** batches handed to `run` whose promise has not settled yet */
  private inFlight = 0;

  /**
   * @param run executes one batch; resolves with one result per key, in order
   * @param maxBatch largest batch handed to `run` (bigger bursts are split)
   * @param weight optional second bound on a batch, such as its bytes
   */
  constructor(
    private readonly run: (keys: K[]) => Promise<R[]>,
    private readonly maxBatch = 1000,
    private readonly weight?: BatchWeight<K>,
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
    // idle: nothing to gather behind, so do not charge a lone call the rest of the turn; busy:
    // setImmediate lets a burst of async callers all queue behind the batch in flight
    if (this.inFlight === 0) queueMicrotask(() => this.flush());
    else setImmediate(() => this.flush());
  }

  /** Run what is queued now rather than at the end of the turn (e.g. before a connection closes). */
  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = new Map();
    for (const chunk of this.split([...batch.keys()])) {
      this.inFlight++;
      this.run(chunk).then(
        (results) => {
          this.inFlight--;
          chunk.forEach((k, j) => batch.get(k)!.forEach((w) => w.resolve(results[j])));
        },
        (error: unknown) => {
          this.inFlight--;
          chunk.forEach((k) => batch.get(k)!.forEach((w) => w.reject(error)));
        },
      );
    }
  }

  /** Consecutive chunks of at most maxBatch keys, each within the weight bound if there is one. */
  private split(keys: K[]): K[][] {
    const chunks: K[][] = [];
    let chunk: K[] = [];
    let weight = 0;
    for (const key of keys) {
      const w = this.weight ? this.weight.of(key) : 0;
      if (chunk.length > 0 && (chunk.length >= this.maxBatch || (this.weight && weight + w > this.weight.max))) {
        chunks.push(chunk);
        chunk = [];
        weight = 0;
      }
      chunk.push(key);
      weight += w;
    }
    if (chunk.length > 0) chunks.push(chunk);
    return chunks;
  }
}
