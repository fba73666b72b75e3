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
/** A caller waiting for its key's result. */
interface Waiter<R> {
  resolve(result: R): void;
  reject(error: unknown): void;
}

export class TickBatcher<K, R> {
  /** the keys queued this turn, each once, in the order first added */
  private keys: K[] = [];
  /** the waiters of keys[i]: one, or an array once the same key was added again */
  private waiters: (Waiter<R> | Waiter<R>[])[] = [];
  /** where each queued key sits in `keys` (duplicate keys share one slot) */
  private slots = new Map<K, number>();
  private scheduled = false;
  /** batches handed to `run` whose promise has not settled yet */
  private inFlight = 0;

  /**
   * @param run executes one batch; resolves with one result per key, in order
   * @param maxBatch largest batch handed to `run` (bigger bursts are split)
   * @param weight optional second bound on a batch, such as its bytes
   * @param distinct every key is added once (e.g. a fresh object per call): no slot lookup per key
   */
  constructor(
    private readonly run: (keys: K[]) => Promise<R[]>,
    private readonly maxBatch = 1000,
    private readonly weight?: BatchWeight<K>,
    private readonly distinct = false,
  ) {}

  /** Queue `key`; resolves with its result once its batch ran. Duplicate keys share one slot (unless `distinct`). */
  add(key: K): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const waiter: Waiter<R> = { resolve, reject };
      if (this.distinct) {
        this.keys.push(key);
        this.waiters.push(waiter);
        return this.schedule();
      }
      const slot = this.slots.get(key);
      if (slot === undefined) {
        this.slots.set(key, this.keys.length);
        this.keys.push(key);
        this.waiters.push(waiter);
      } else {
        const queued = this.waiters[slot];
        if (Array.isArray(queued)) queued.push(waiter);
        else this.waiters[slot] = [queued, waiter];
      }
      this.schedule();
    });
  }

  /** Reject everything still queued. */
  rejectAll(error: unknown): void {
    const waiters = this.take().waiters;
    for (let i = 0; i < waiters.length; i++) rejectSlot(waiters[i], error);
  }

  /** What is queued now, leaving the batcher empty. */
  private take(): { keys: K[]; waiters: (Waiter<R> | Waiter<R>[])[] } {
    const taken = { keys: this.keys, waiters: this.waiters };
    this.keys = [];
    this.waiters = [];
    if (this.slots.size) this.slots = new Map();
    return taken;
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
    const { keys, waiters } = this.take();
    const weight = this.weight;
    let start = 0;
    let load = 0;
    // consecutive chunks of at most maxBatch keys, each within the weight bound if there is one
    for (let i = 0; i < keys.length; i++) {
      const w = weight ? weight.of(keys[i]) : 0;
      if (i > start && (i - start >= this.maxBatch || (weight && load + w > weight.max))) {
        this.runChunk(keys, waiters, start, i);
        start = i;
        load = 0;
      }
      load += w;
    }
    if (keys.length > start) this.runChunk(keys, waiters, start, keys.length);
  }

  /** Run keys[start, end) as one batch and settle their waiters. */
  private runChunk(keys: K[], waiters: (Waiter<R> | Waiter<R>[])[], start: number, end: number): void {
    const chunk = start === 0 && end === keys.length ? keys : keys.slice(start, end);
    this.inFlight++;
    this.run(chunk).then(
      (results) => {
        this.inFlight--;
        for (let j = 0; j < chunk.length; j++) resolveSlot(waiters[start + j], results[j]);
      },
      (error: unknown) => {
        this.inFlight--;
        for (let j = start; j < end; j++) rejectSlot(waiters[j], error);
      },
    );
  }
}

/** Resolve the waiter, or each of the waiters, of one slot. */
function resolveSlot<R>(waiters: Waiter<R> | Waiter<R>[], result: R): void {
  if (!Array.isArray(waiters)) return waiters.resolve(result);
  for (const w of waiters) w.resolve(result);
}

/** Reject the waiter, or each of the waiters, of one slot. */
function rejectSlot<R>(waiters: Waiter<R> | Waiter<R>[], error: unknown): void {
  if (!Array.isArray(waiters)) return waiters.reject(error);
  for (const w of waiters) w.reject(error);
}
