// After a busy period, once the worker has held no task for a while, ask V8 to give back the memory
// the burst made it keep. A drain leaves the heap's live objects small, but the pages V8 freed stay
// resident in its page pool (bench/README.md, "Memory"); only V8's last-resort GC returns them, and
// V8 runs it on its own only under memory pressure. Celery's answer for prefork is
// worker_max_memory_per_child (maxMemoryPerChild here); the event loop has no child to replace.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { CeleryLogger } from '../../common/logger.js';

/** Seconds without a task before the worker gives memory back (the `idleMemoryRelease` default). */
export const DEFAULT_IDLE_MEMORY_RELEASE = 10;

/** Resident memory must have grown this much since the last release (or the start) for another one. */
export const RELEASE_MIN_GROWTH_BYTES = 32 * 1024 * 1024;

export interface IdleMemoryReleaseOptions {
  /** seconds without a task before the release */
  idleSeconds: number;
  /** whether the worker holds a task now (its in-flight count above 0) */
  holding: () => boolean;
  logger: CeleryLogger;
  /** V8's last-resort GC (tests pass their own) */
  collect?: () => void;
  /** resident bytes now (tests pass their own) */
  rss?: () => number;
}

/**
 * The worker option `idleMemoryRelease`: seconds (> 0) or false; default DEFAULT_IDLE_MEMORY_RELEASE.
 */
export function idleMemoryReleaseSeconds(option: number | false | undefined): number | false {
  if (option === false) return false;
  const seconds = option ?? DEFAULT_IDLE_MEMORY_RELEASE;
  if (!Number.isFinite(seconds) || seconds <= 0) throw new RangeError(`idleMemoryRelease must be seconds > 0 or false, got ${String(option)}`);
  return seconds;
}

/**
 * V8's last-resort GC: `gc` when the process runs with --expose-gc, else the same function exposed
 * at run time (as jest's leak detector does); it frees the page pool a plain full GC keeps.
 */
function lastResortGc(): () => void {
  let gc = globalThis.gc;
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as NonNullable<typeof globalThis.gc>;
  }
  return () => void gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

/**
 * Told when the worker comes to hold no task; `idleSeconds` after the last such moment, if the
 * worker still holds none and its resident memory grew by RELEASE_MIN_GROWTH_BYTES since the last
 * release, runs V8's last-resort GC once and logs what it gave back.
 */
export class IdleMemoryRelease {
  private timer?: NodeJS.Timeout;
  /** the GC could not be had or threw: no more tries */
  private failed = false;
  /** resident bytes after the last release, or at the start */
  private baseline: number;
  private collect?: () => void;
  private readonly rss: () => number;

  constructor(private readonly options: IdleMemoryReleaseOptions) {
    this.collect = options.collect;
    this.rss = options.rss ?? (() => process.memoryUsage.rss());
    this.baseline = this.rss();
  }

  /** The worker holds no task: the release is due `idleSeconds` from now unless a task comes. */
  idle(): void {
    if (this.failed) return;
    // one timer, pushed back at each idle moment (no new timer per task); refresh re-arms a fired one
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => this.release(), this.options.idleSeconds * 1000).unref();
  }

  /** Cancel a pending release (the worker stops). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private release(): void {
    if (this.options.holding()) return; // the next idle() sets it again
    const before = this.rss();
    if (before - this.baseline < RELEASE_MIN_GROWTH_BYTES) return;
    const started = performance.now();
    try {
      this.collect ??= lastResortGc();
      this.collect();
    } catch (error) {
      this.options.logger.warn(`idle memory release failed, not tried again: ${(error as Error)?.message ?? error}`);
      this.failed = true;
      return;
    }
    this.baseline = this.rss();
    const mb = (bytes: number) => (bytes / 1048576).toFixed(0);
    this.options.logger.log(
      `idle for ${this.options.idleSeconds} s: gave memory back, resident ${mb(before)} → ${mb(this.baseline)} MB (${(performance.now() - started).toFixed(0)} ms)`,
    );
  }
}
