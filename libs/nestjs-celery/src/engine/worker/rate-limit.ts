// Per-task rate limits (Celery's Task.rate_limit): the rate strings, and the worker's bucket per task type
// that says when the next task of that type may start.
/**
 * Celery's worker keeps a token bucket of capacity 1 per task type (kombu TokenBucket, filled at
 * the task's rate); a task that finds it empty is held in the worker until the bucket refills,
 * in arrival order, while other tasks run. A bucket of capacity 1 filled at `r` tokens/s lets
 * one task start every 1/r seconds, so each bucket here is the time its next task may start:
 * taking a turn returns that time and moves it on by 1/r. Held tasks keep the turn they were
 * given when the rate changes (in Celery they drain from the old bucket too).
 */
import { pythonRepr } from '../../protocol/python-repr.js';
import type { Delivery } from '../../transport/broker.interface.js';

/** A rate string Celery refuses, e.g. `'ten/s'`; `python` is the exception Celery's rate() raises for it. */
export class RateLimitError extends Error {
  constructor(
    message: string,
    readonly python: { type: 'ValueError' | 'KeyError'; arg: string },
  ) {
    super(message);
    this.name = 'RateLimitError';
  }
}

const PER_SECOND: Record<string, number> = { s: 1, m: 60, h: 3600 };

/**
 * Celery's `celery.utils.time.rate()`: `'100/m'`, `'2/h'`, `'0.5/s'` or `'10'` (per second), or a
 * number, as tasks per second; 0 for none (null, '', 0). Throws RateLimitError otherwise.
 */
export function parseRate(value: unknown): number {
  if (value === null || value === undefined || value === '' || value === 0) return 0;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new RateLimitError(`rate limit must be a number ≥ 0, got ${value}`, { type: 'ValueError', arg: String(value) });
    return value;
  }
  if (typeof value !== 'string') {
    throw new RateLimitError(`rate limit must be a string like '10/s', '100/m' or '1000/h', got ${typeof value}`, {
      type: 'ValueError',
      arg: pythonRepr(value),
    });
  }
  const slash = value.indexOf('/');
  const count = slash < 0 ? value : value.slice(0, slash);
  const unit = slash < 0 ? 's' : value.slice(slash + 1) || 's';
  const per = PER_SECOND[unit];
  // Python's float(): surrounding blanks allowed, nothing else
  const n = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(count) ? Number(count) : Number.NaN;
  if (Number.isNaN(n)) {
    const message = `could not convert string to float: '${count}'`;
    throw new RateLimitError(message, { type: 'ValueError', arg: message });
  }
  if (per === undefined) throw new RateLimitError(`unknown rate unit '${unit}' in '${value}' (use s, m or h)`, { type: 'KeyError', arg: unit });
  if (n < 0) throw new RateLimitError(`rate limit must be ≥ 0, got '${value}'`, { type: 'ValueError', arg: value });
  return n / per;
}

/** Worker settings for rate limits. */
export interface RateLimitOptions {
  /** Celery's task_default_rate_limit: the rate of tasks that set none (default: none) */
  defaultRateLimit?: string | number | null;
  /** Celery's worker_disable_rate_limits: no task is rate limited, whatever it sets */
  disableRateLimits?: boolean;
}

interface Bucket {
  /** tasks per second */
  readonly rate: number;
  /** when the next task may start (ms, Date.now() clock) */
  nextAt: number;
}

/** Where a task waiting for its turn is held: the worker's ETA scheduler (`aside`: not counted in the prefetch window). */
export type HoldUntil = (delivery: Delivery, at: Date, run: () => Promise<void>, aside: boolean) => Promise<void>;

/**
 * The worker's buckets, one per rate-limited task type. A task waiting for its turn is held
 * unacked like an ETA task; up to `maxAside` of them at once are set aside from the prefetch
 * window, so other tasks keep arriving and running meanwhile; past that they count in the
 * window and the worker fetches no more until some have run.
 */
export class RateLimits {
  private readonly buckets = new Map<string, Bucket | null>();
  /** rates set at run time (the rate_limit control command), by task name */
  private readonly changed = new Map<string, string | number | null>();
  private waiting = 0;

  constructor(
    private readonly options: RateLimitOptions = {},
    private readonly holdUntil?: HoldUntil,
    private readonly maxAside = 0,
  ) {
    parseRate(options.defaultRateLimit);
  }

  /** Tasks held for their turn now. */
  get held(): number {
    return this.waiting;
  }

  /** Run `run` now when task type `name` has a turn free, else hold the delivery until its turn. */
  admit(name: string, taskRate: string | number | null | undefined, delivery: Delivery, run: () => Promise<void>): Promise<void> {
    const at = this.turn(name, taskRate);
    if (at === undefined || !this.holdUntil) return run();
    this.waiting++;
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      this.waiting--;
    };
    return this.holdUntil(
      delivery,
      new Date(at),
      () => {
        leave();
        return run();
      },
      this.waiting <= this.maxAside,
    ).finally(leave);
  }

  get disabled(): boolean {
    return !!this.options.disableRateLimits;
  }

  /** The rate limit in force for a task: set at run time, else the task's, else the default. */
  rateLimitOf(name: string, taskRate: string | number | null | undefined): string | number | null {
    if (this.changed.has(name)) return this.changed.get(name)!;
    return taskRate ?? this.options.defaultRateLimit ?? null;
  }

  /** The settings as Celery's `conf` names them. */
  conf(): Record<string, unknown> {
    return { task_default_rate_limit: this.options.defaultRateLimit ?? null, worker_disable_rate_limits: this.disabled };
  }

  /** Change a task's rate limit (null or '' removes it); throws RateLimitError for a bad rate. */
  set(name: string, rate: string | number | null): void {
    parseRate(rate);
    this.changed.set(name, rate === '' ? null : rate);
    this.buckets.delete(name);
  }

  /**
   * Take the next turn of task type `name`: undefined when it may start now, else the time
   * (ms) it may start. Turns are handed out in call order.
   */
  turn(name: string, taskRate: string | number | null | undefined, now = Date.now()): number | undefined {
    if (this.disabled) return undefined;
    let bucket = this.buckets.get(name);
    if (bucket === undefined) {
      const rate = parseRate(this.rateLimitOf(name, taskRate));
      bucket = rate > 0 ? { rate, nextAt: now } : null;
      this.buckets.set(name, bucket);
    }
    if (!bucket) return undefined;
    const at = Math.max(now, bucket.nextAt);
    bucket.nextAt = at + 1000 / bucket.rate;
    return at > now ? at : undefined;
  }
}
