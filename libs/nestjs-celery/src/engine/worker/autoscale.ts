// Celery's autoscaler (celery/worker/autoscale.py): the pool grows at once to the work the worker holds, up to max, and
// shrinks back toward min once `keepalive` has passed since it last grew; the prefetch window follows max.
import type { CeleryLogger } from '../../common/logger.js';

/** Celery's AUTOSCALE_KEEPALIVE default, in seconds. */
export const DEFAULT_AUTOSCALE_KEEPALIVE = 30;

/** How often the autoscaler looks at the work (Celery's autoscaler thread: once a second). */
export const AUTOSCALE_TICK_MS = 1000;

/** The pool the autoscaler sizes. */
export interface AutoscaledPool {
  /** processes (or in-flight slots) the pool keeps now: Celery's `pool.num_processes` */
  size(): number;
  /** tasks received that may run now, running or waiting for a process: Celery's `len(state.reserved_requests)` */
  demand(): number;
  /** grow or shrink to `size` (busy processes finish their task first); the prefetch window follows `max` */
  resize(size: number, max: number): void;
}

export interface AutoscalerOptions {
  max: number;
  min: number;
  /** seconds after the last scale-up before the pool may shrink (Celery's AUTOSCALE_KEEPALIVE) */
  keepalive: number;
  logger: CeleryLogger;
  /** monotonic milliseconds (tests pass their own clock) */
  now?: () => number;
}

/** `inspect stats` → `autoscaler`. */
export interface AutoscalerInfo {
  max: number;
  min: number;
  current: number;
  qty: number;
}

/**
 * A worker option `autoscale: [max, min]` (Celery's `--autoscale=max,min`; min defaults to 0 as there) checked at
 * startup: whole numbers, max ≥ 1, 0 ≤ min ≤ max.
 */
export function autoscaleRange(value: unknown): { max: number; min: number } | undefined {
  if (value === undefined || value === null) return undefined;
  const [max, min = 0] = Array.isArray(value) ? (value as unknown[]) : [];
  if (!Array.isArray(value) || value.length < 1 || value.length > 2 || !Number.isInteger(max) || !Number.isInteger(min))
    throw new TypeError(`autoscale must be [max, min] with whole numbers (Celery's --autoscale=max,min), got ${JSON.stringify(value)}`);
  if ((max as number) < 1 || (min as number) < 0 || (min as number) > (max as number))
    throw new RangeError(`autoscale [max, min] needs max ≥ 1 and 0 ≤ min ≤ max, got [${String(max)}, ${String(min)}]`);
  return { max: max as number, min: min as number };
}

/** Seconds of AUTOSCALE_KEEPALIVE: the option, else the environment variable, else 30; must be > 0 (Celery asserts it). */
export function autoscaleKeepalive(option: number | undefined, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.AUTOSCALE_KEEPALIVE?.trim();
  const keepalive = option ?? (raw ? Number(raw) : DEFAULT_AUTOSCALE_KEEPALIVE);
  if (!Number.isFinite(keepalive) || keepalive <= 0)
    throw new RangeError(`autoscale keepalive must be seconds > 0 (autoscaleKeepalive or AUTOSCALE_KEEPALIVE), got ${option ?? raw}`);
  return keepalive;
}

export class Autoscaler {
  private maxConcurrency: number;
  private minConcurrency: number;
  private readonly keepaliveMs: number;
  private readonly now: () => number;
  /** when the pool last grew because of work (undefined: never, so it does not shrink yet, as in Celery) */
  private lastScaleUp?: number;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly pool: AutoscaledPool,
    private readonly options: AutoscalerOptions,
  ) {
    this.maxConcurrency = options.max;
    this.minConcurrency = options.min;
    this.keepaliveMs = options.keepalive * 1000;
    this.now = options.now ?? (() => performance.now());
  }

  get max(): number {
    return this.maxConcurrency;
  }

  get min(): number {
    return this.minConcurrency;
  }

  /** Look at the work every second until stop(). */
  start(): void {
    this.timer ??= setInterval(() => this.maybeScale(), AUTOSCALE_TICK_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Celery's `_maybe_scale`: more work than processes grows the pool to it (at most max) at once; fewer shrinks it
   * toward the work (at least min), but only once keepalive has passed since the last scale-up. True when it acted.
   */
  maybeScale(): boolean {
    const procs = this.pool.size();
    const qty = this.pool.demand();
    const up = Math.min(qty, this.maxConcurrency);
    if (up > procs) {
      this.lastScaleUp = this.now();
      this.scale(procs, up);
      return true;
    }
    const down = Math.max(qty, this.minConcurrency);
    if (down < procs) {
      if (this.lastScaleUp !== undefined && this.now() - this.lastScaleUp > this.keepaliveMs) this.scale(procs, down);
      return true;
    }
    return false;
  }

  /**
   * The `autoscale` control command (Celery's `Autoscaler.update`): a lower max shrinks the pool to it at once and
   * the prefetch window follows max; a higher min grows the pool to it at once. Either may be left out.
   */
  update(max?: number, min?: number): [max: number, min: number] {
    if (max !== undefined) {
      this.maxConcurrency = max;
      this.scale(this.pool.size(), Math.min(this.pool.size(), max));
    }
    if (min !== undefined) {
      this.minConcurrency = min;
      if (min > this.pool.size()) this.scale(this.pool.size(), min);
    }
    return [this.maxConcurrency, this.minConcurrency];
  }

  info(): AutoscalerInfo {
    return { max: this.maxConcurrency, min: this.minConcurrency, current: this.pool.size(), qty: this.pool.demand() };
  }

  private scale(from: number, to: number): void {
    if (to > from) this.options.logger.log(`Scaling up ${to - from} processes.`);
    else if (to < from) this.options.logger.log(`Scaling down ${from - to} processes.`);
    this.pool.resize(to, this.maxConcurrency);
  }
}
