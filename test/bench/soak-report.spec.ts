/** bench/rows-report.ts and report.ts on the memory soak: flat judged on RSS and V8's pages, "returned" against idle, V8's pool shown. */
import { allTargets, type BenchResults } from '../../bench/report.js';
import { soakSection } from '../../bench/rows-report.js';
import type { SoakFigure, SoakSample } from '../../bench/soak.scenario.js';

const at = (tasks: number, rssMB: number, v8PagesMB: number, heapTotalMB: number): SoakSample => ({
  tasks,
  rssMB,
  v8PagesMB,
  heapTotalMB,
  heapUsedMB: 12.3,
  brkMB: 7,
  loadAverage: 1,
});

/** a soak like the 1M one with 16 MB semi-spaces: memory flat, heapTotal swinging, the pool kept after the drain */
function figure(over: Partial<SoakFigure> = {}): SoakFigure {
  return {
    broker: 'redis',
    tasks: 400_000,
    every: 100_000,
    wrongResults: 0,
    idle: at(0, 85.4, 23.1, 30.1),
    samples: [at(100_000, 181.3, 109.7, 30.3), at(200_000, 182, 109.7, 49.6), at(300_000, 182.8, 109.7, 64.6), at(400_000, 182.4, 109.8, 27.6)],
    afterDrain: at(400_000, 183.5, 109.9, 16.8),
    afterRelease: at(400_000, 85, 11.6, 14.7),
    warmupSamples: 1,
    rssSpreadPct: 0.4,
    v8PagesSpreadPct: 0.1,
    heapTotalSpreadPct: 134,
    flat: true,
    afterDrainOverIdlePct: 114.9,
    returned: false,
    afterDrainMs: 5000,
    ...over,
  };
}

function text(f: SoakFigure): string {
  const out: string[] = [];
  soakSection(f, out);
  return out.join('\n');
}

describe('bench memory soak report', () => {
  it('calls memory flat on RSS and V8 pages while heapTotal swings, and prints heapTotal beside it', () => {
    const out = text(figure());
    expect(out).toContain('RSS spread 0.4 %, V8 pages 0.1 % → flat');
    expect(out).toContain('heap reserved (heapTotal) alone 134.0 %');
  });

  it('says NOT returned when RSS after the drain is over 10 % above idle, and how much of it is V8’s pool', () => {
    const out = text(figure());
    expect(out).toContain('115 % above idle → NOT returned (target: within 10 % of idle)');
    expect(out).toContain("of it 93.1 MB in V8 heap pages outside heapTotal: V8's page pool");
    expect(out).toContain("after V8's last-resort GC (gc({ flavor: 'last-resort' }), --expose-gc): RSS 85.0 MB, at idle → returned");
  });

  it('says returned when RSS after the drain is back within 10 % of idle, with no pool line when V8 keeps no pages outside heapTotal', () => {
    const out = text(figure({ afterDrain: at(400_000, 90, 16.5, 16.8), afterDrainOverIdlePct: 5.4, returned: true }));
    expect(out).toContain('5 % above idle → returned');
    expect(out).not.toContain("V8's page pool");
  });

  it('lists soak.returned among the run’s targets beside soak.flat', () => {
    const r = { ratios: {}, drain: [], publish: [], rtt: [], soak: figure() } as unknown as BenchResults;
    const soak = allTargets(r).filter((t) => t.key.startsWith('soak.'));
    expect(soak.map((t) => [t.key, t.ratio.met])).toEqual([
      ['soak.flat', true],
      ['soak.returned', false],
    ]);
  });
});
