// The worker's idle memory release (option idleMemoryRelease) in a real process: after a burst that
// left hundreds of MB resident, the idle worker gives most of it back.
import { expect } from '@jest/globals';
import { runTsChild } from '../support/ts-child.js';

const child = new URL('./idle-memory-release.child.ts', import.meta.url).pathname;

interface Run {
  beforeMB: number;
  peakMB: number;
  afterMB: number;
  line: string;
}

describe('idle memory release (real process, memory transport)', () => {
  test('after a burst, the idle worker gives back what the burst left resident and logs it', async () => {
    const { result } = await runTsChild<Run>(child, ['1', '2000'], { timeoutMs: 180_000 });
    // the burst must have grown the process, or the test proves nothing
    expect(result.peakMB - result.beforeMB).toBeGreaterThan(64);
    // most of the growth is given back (a plain GC keeps it: V8's page pool)
    expect(result.afterMB - result.beforeMB).toBeLessThan((result.peakMB - result.beforeMB) / 2);
    expect(result.line).toMatch(/^idle for 1 s: gave memory back, resident \d+ → \d+ MB \(\d+ ms\)$/);
  }, 200_000);
});
