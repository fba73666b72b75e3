/**
 * Sees every result a worker stores, without touching the worker: Celery's Redis backend
 * (and celery-node's, and ours) PUBLISHes each stored state on the channel named after its
 * key, so one PSUBSCRIBE to `celery-task-meta-*` times every completion. The handler only
 * reads the channel name and checks for SUCCESS; values are verified after the run with MGET.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';

const PREFIX = 'celery-task-meta-';

export interface Completion {
  /** performance.now() of the first and the last completion */
  first: number;
  last: number;
  /** completion times in arrival order (ms, performance.now()) */
  times: Float64Array;
}

export class StallError extends Error {
  constructor(label: string, done: number, total: number, stallMs: number) {
    super(`${label}: only ${done}/${total} results after ${stallMs / 1000} s without progress; is the worker running and consuming the right queue?`);
    this.name = 'StallError';
  }
}

export class ResultObserver {
  private readonly redis: Redis;
  private watch?: {
    pending: Set<string>;
    /** warm-up tasks: their results count as progress, not as completions */
    untimed: Set<string>;
    times: Float64Array;
    done: number;
    lastProgress: number;
    onFirst?: () => void;
    resolve: (c: Completion) => void;
  };

  constructor(url: string) {
    this.redis = new Redis(url, { lazyConnect: true, connectionName: 'nestjs-celery-bench:observer' });
    // ioredis reconnects (and re-subscribes) by itself; a drain that loses results stalls and says so
    this.redis.on('error', () => undefined);
    this.redis.on('pmessage', (_pattern: string, channel: string, message: string) => this.onMessage(channel, message));
  }

  async connect(): Promise<void> {
    await this.redis.connect();
    await this.redis.psubscribe(`${PREFIX}*`);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  /**
   * Resolves when every id in `ids` has a SUCCESS stored. Rejects with StallError when no
   * new result arrives for `stallMs`, or when `aborted` rejects (the worker died). Results of
   * `untimed` ids (a warm-up run ahead of `ids`) count as progress only.
   */
  waitFor(
    label: string,
    ids: Iterable<string>,
    stallMs: number,
    aborted?: Promise<never>,
    onFirst?: () => void,
    untimed: Iterable<string> = [],
  ): Promise<Completion> {
    const pending = new Set(ids);
    const total = pending.size;
    return new Promise<Completion>((resolve, reject) => {
      const watch = { pending, untimed: new Set(untimed), times: new Float64Array(total), done: 0, lastProgress: performance.now(), onFirst, resolve };
      this.watch = watch;
      const timer = setInterval(() => {
        if (performance.now() - watch.lastProgress > stallMs) finish(new StallError(label, watch.done, total, stallMs));
      }, 250);
      const finish = (error?: Error) => {
        clearInterval(timer);
        if (this.watch === watch) this.watch = undefined;
        if (error) reject(error);
      };
      watch.resolve = (c) => {
        finish();
        resolve(c);
      };
      aborted?.catch((e: Error) => finish(e));
      if (total === 0) watch.resolve({ first: 0, last: 0, times: watch.times });
    });
  }

  private onMessage(channel: string, message: string): void {
    const w = this.watch;
    if (!w) return;
    const id = channel.slice(PREFIX.length);
    // only ready states end a task; every worker here stores nothing before SUCCESS
    if (!message.includes('"SUCCESS"')) return;
    if (!w.pending.has(id)) {
      if (w.untimed.delete(id)) w.lastProgress = performance.now();
      return;
    }
    const now = performance.now();
    w.pending.delete(id);
    w.times[w.done++] = now;
    w.lastProgress = now;
    if (w.done === 1) w.onFirst?.();
    if (w.pending.size === 0) w.resolve({ first: w.times[0], last: now, times: w.times });
  }
}
