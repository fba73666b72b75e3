/**
 * Celery's LimitedSet (celery/utils/collections.py) as the worker uses it for revoked task ids:
 * at most `maxlen` ids, each forgotten `expires` seconds after it was (re)added. Insertion times
 * are monotonic seconds, the clock Python's `time.monotonic()` reads on the same host, because
 * mingle (`hello`) exchanges them with Python workers as `{id: [inserted, id]}`.
 */
export const monotonicSeconds = (): number => Number(process.hrtime.bigint()) / 1e9;

export class LimitedSet {
  /** id → insertion time; a Map iterates in insertion order, so the oldest entry comes first */
  private readonly data = new Map<string, number>();
  /** the latest insertion time added (an upper bound once entries are discarded) */
  private latest = -Infinity;

  constructor(
    readonly maxlen: number,
    readonly expires: number,
    private readonly now: () => number = monotonicSeconds,
  ) {}

  get size(): number {
    this.purge();
    return this.data.size;
  }

  has(id: string): boolean {
    const inserted = this.data.get(id);
    if (inserted === undefined) return false;
    if (this.expires && inserted + this.expires <= this.now()) {
      this.data.delete(id);
      return false;
    }
    return true;
  }

  /** Add (or refresh) an id; `inserted` lets a peer's timestamp through (mingle). */
  add(id: string, inserted = this.now()): void {
    this.data.delete(id);
    this.data.set(id, inserted);
    // a peer's older timestamp may land behind newer ones: keep the map ordered by time
    if (inserted < this.latest) this.resort();
    else this.latest = inserted;
    this.purge();
  }

  /**
   * Celery's `update`: a list of ids, or a `{id: inserted | [inserted, id]}` mapping (mingle).
   * A mapping is sorted once and merged with the ids held: O(n + k log k), where adding its
   * entries one by one re-sorted the set for every older timestamp (20,000 ids took 97 s).
   */
  update(other: unknown): void {
    if (Array.isArray(other)) {
      for (const id of other) if (typeof id === 'string') this.add(id);
      return;
    }
    if (!other || typeof other !== 'object') return;
    const now = this.now();
    const incoming: [string, number][] = [];
    for (const [id, value] of Object.entries(other as Record<string, unknown>)) {
      const inserted: unknown = Array.isArray(value) ? value[0] : value;
      incoming.push([id, typeof inserted === 'number' && Number.isFinite(inserted) ? inserted : now]);
    }
    if (incoming.length === 0) return;
    incoming.sort((a, b) => a[1] - b[1]);
    for (const [id] of incoming) this.data.delete(id);
    if (incoming[0][1] >= this.latest) {
      for (const [id, inserted] of incoming) this.data.set(id, inserted);
    } else {
      this.merge(incoming);
    }
    this.latest = Math.max(this.latest, incoming[incoming.length - 1][1]);
    this.purge();
  }

  discard(id: string): void {
    this.data.delete(id);
  }

  clear(): void {
    this.data.clear();
    this.latest = -Infinity;
  }

  /** Drop expired ids and the oldest beyond maxlen. */
  purge(): void {
    const now = this.now();
    for (const [id, inserted] of this.data) {
      if (this.data.size > this.maxlen || (this.expires && inserted + this.expires <= now)) this.data.delete(id);
      else break;
    }
  }

  /** Ids, oldest first. */
  ids(): string[] {
    this.purge();
    return [...this.data.keys()];
  }

  /** Celery's `_data` on the wire: `{id: [inserted, id]}`. */
  toWire(): Record<string, [number, string]> {
    this.purge();
    const out: Record<string, [number, string]> = {};
    // Python's LimitedSet.update insists on a float: never send an integral number
    for (const [id, inserted] of this.data) out[id] = [Number.isInteger(inserted) ? inserted + 1e-6 : inserted, id];
    return out;
  }

  private resort(): void {
    const sorted = [...this.data].sort((a, b) => a[1] - b[1]);
    this.data.clear();
    for (const [id, inserted] of sorted) this.data.set(id, inserted);
    this.latest = sorted.length ? sorted[sorted.length - 1][1] : -Infinity;
  }

  /** Merge sorted `incoming` (ids not held) with the held ids, which are in time order. */
  private merge(incoming: [string, number][]): void {
    const held = [...this.data];
    this.data.clear();
    let i = 0;
    let j = 0;
    while (i < held.length || j < incoming.length) {
      const next = j >= incoming.length || (i < held.length && held[i][1] <= incoming[j][1]) ? held[i++] : incoming[j++];
      this.data.set(next[0], next[1]);
    }
  }
}
