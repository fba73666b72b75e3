/** bench/report.ts: the round trip floor is read beside ours, never counted as a target. */
import { allTargets, computeRatios, type BenchResults } from '../../bench/report.js';
import type { RttFigure } from '../../bench/rtt.scenario.js';

const rtt = (broker: RttFigure['broker'], pair: RttFigure['pair'], p50Ms: number, confirms = broker !== 'amqp'): RttFigure => ({
  broker,
  pair,
  confirms,
  n: 1000,
  p50Ms,
  ...(pair === 'ours' ? { node: process.version } : {}),
});

describe('bench round trip floor', () => {
  const r = {
    drain: [],
    publish: [],
    rtt: [rtt('amqp', 'ours', 0.9), rtt('amqp', 'python', 1.8), rtt('amqp', 'ceiling', 0.6), rtt('amqp', 'ours', 1.2, true), rtt('redis', 'ours', 0.5)],
  };

  it('divides our p50 at Celery’s default by the floor’s', () => {
    const ratios = computeRatios(r);
    expect(ratios['rtt.oursOverCeilingP50.amqp'].value).toBeCloseTo(1.5, 10);
    expect(ratios['rtt.oursP50.amqp']).toMatchObject({ value: 0.9, met: true });
    // no floor measured on Redis: nothing to divide by
    expect(ratios['rtt.oursOverCeilingP50.redis'].value).toBeUndefined();
  });

  it('is no target: the run’s target list leaves it out', () => {
    const results = { ...r, ratios: computeRatios(r) } as unknown as BenchResults;
    const keys = allTargets(results).map((t) => t.key);
    expect(keys).toContain('rtt.oursP50.amqp');
    expect(keys.filter((k) => k.includes('Ceiling') && k.startsWith('rtt'))).toEqual([]);
  });
});
