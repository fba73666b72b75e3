// When the idle memory release runs: only idle, only after the idle time, only when resident memory grew, once per busy
// period; a failing GC is logged once and never tried again; the option's checks.
import { expect, jest } from '@jest/globals';
import { silentLogger } from '../../common/logger.js';
import { DEFAULT_IDLE_MEMORY_RELEASE, IdleMemoryRelease, idleMemoryReleaseSeconds, RELEASE_MIN_GROWTH_BYTES } from './idle-memory-release.js';

const MB = 1024 * 1024;

/** The worker's side: it holds tasks (busy) or none (idle, which it tells the release). */
function workerOf(release: IdleMemoryRelease, state: { holding: boolean }) {
  return {
    busy: () => void (state.holding = true),
    idle: () => {
      state.holding = false;
      release.idle();
    },
  };
}

function setup(idleSeconds = 10) {
  let rss = 100 * MB;
  const state = { holding: false };
  const collected: number[] = [];
  const logs: string[] = [];
  const warnings: string[] = [];
  const release = new IdleMemoryRelease({
    idleSeconds,
    holding: () => state.holding,
    logger: { ...silentLogger, log: (line: string) => logs.push(line), warn: (line: string) => warnings.push(line) },
    rss: () => rss,
    collect: () => {
      collected.push(rss);
      rss = 110 * MB; // what the GC gave back
    },
  });
  return { release, worker: workerOf(release, state), collected, logs, warnings, grow: (mb: number) => (rss += mb * MB), rss: () => rss };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('IdleMemoryRelease', () => {
  test('idle for idleSeconds after a burst that grew memory: one release, logged with what it gave back', () => {
    const { worker, collected, logs, grow } = setup(10);
    worker.busy();
    grow(200);
    worker.idle();
    jest.advanceTimersByTime(9_999);
    expect(collected).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(collected).toEqual([300 * MB]);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^idle for 10 s: gave memory back, resident 300 → 110 MB \(\d+ ms\)$/);
    // nothing more while nothing happens
    jest.advanceTimersByTime(60_000);
    expect(collected).toHaveLength(1);
  });

  test('each idle moment pushes the release back; a worker busy when it falls due is left alone', () => {
    const { worker, collected, grow } = setup(10);
    worker.busy();
    grow(200);
    worker.idle();
    jest.advanceTimersByTime(8_000);
    worker.busy();
    worker.idle(); // a lone task 8 s in: the idle time starts again
    jest.advanceTimersByTime(8_000);
    expect(collected).toEqual([]);
    worker.busy(); // still running when the 10 s fall due
    jest.advanceTimersByTime(5_000);
    expect(collected).toEqual([]);
    worker.idle();
    jest.advanceTimersByTime(10_000);
    expect(collected).toHaveLength(1);
  });

  test('no release unless resident memory grew by RELEASE_MIN_GROWTH_BYTES since the start or the last release', () => {
    const { worker, collected, grow } = setup(1);
    worker.busy();
    grow(RELEASE_MIN_GROWTH_BYTES / MB - 1);
    worker.idle();
    jest.advanceTimersByTime(5_000);
    expect(collected).toEqual([]);
    worker.busy();
    grow(1);
    worker.idle();
    jest.advanceTimersByTime(1_000);
    expect(collected).toHaveLength(1);
    // the new baseline is what the release left (110 MB): a small burst after it does not release again
    worker.busy();
    grow(10);
    worker.idle();
    jest.advanceTimersByTime(5_000);
    expect(collected).toHaveLength(1);
  });

  test('a GC that throws is logged once and not tried again', () => {
    const warnings: string[] = [];
    let rss = 100 * MB;
    let calls = 0;
    const state = { holding: false };
    const release = new IdleMemoryRelease({
      idleSeconds: 1,
      holding: () => state.holding,
      logger: { ...silentLogger, warn: (line: string) => warnings.push(line) },
      rss: () => rss,
      collect: () => {
        calls++;
        throw new Error('no gc here');
      },
    });
    const worker = workerOf(release, state);
    for (let i = 0; i < 3; i++) {
      worker.busy();
      rss += 100 * MB;
      worker.idle();
      jest.advanceTimersByTime(2_000);
    }
    expect(calls).toBe(1);
    expect(warnings).toEqual(['idle memory release failed, not tried again: no gc here']);
  });

  test('stop() cancels a pending release', () => {
    const { release, worker, collected, grow } = setup(1);
    worker.busy();
    grow(100);
    worker.idle();
    release.stop();
    jest.advanceTimersByTime(10_000);
    expect(collected).toEqual([]);
  });

  test('the option: seconds > 0 or false, default DEFAULT_IDLE_MEMORY_RELEASE', () => {
    expect(idleMemoryReleaseSeconds(undefined)).toBe(DEFAULT_IDLE_MEMORY_RELEASE);
    expect(idleMemoryReleaseSeconds(false)).toBe(false);
    expect(idleMemoryReleaseSeconds(2.5)).toBe(2.5);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => idleMemoryReleaseSeconds(bad)).toThrow(RangeError);
  });
});
