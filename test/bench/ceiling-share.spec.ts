/** bench/report.ts's ceilingShareNeeded: what "ours ≥ k × another worker" asks as a share of the combined ceiling. */
import type { DrainFigure } from '../../bench/drain.scenario.js';
import { ceilingShareNeeded } from '../../bench/report.js';

const drain = (worker: DrainFigure['worker'], rate: number, extra: Partial<DrainFigure> = {}): DrainFigure => ({
  broker: 'amqp',
  worker,
  n: 20000,
  rate,
  ...extra,
});

describe('bench ceiling share needed', () => {
  it('is k × the other worker (its median round, without stalls) over the ceiling (its median round)', () => {
    const r = {
      drain: [
        drain('celery-node', 24000, { round: 1 }),
        drain('celery-node', 20000, { round: 2, rateWithoutStalls: 25000 }),
        drain('celery-node', 26000, { round: 3 }),
        drain('ceiling:both', 30000, { round: 1 }),
        drain('ceiling:both', 20000, { round: 2 }),
        drain('ceiling:both', 40000, { round: 3 }),
      ],
    };
    // median round of celery-node is round 1 (24,000/s); median ceiling 30,000/s
    expect(ceilingShareNeeded(r, 'amqp', 'celery-node', 1.5)).toBeCloseTo(1.2, 10);
    expect(ceilingShareNeeded(r, 'amqp', 'celery-node', 1)).toBeCloseTo(0.8, 10);
  });

  it('measures against the broker-alone ceiling when asked', () => {
    const r = { drain: [drain('celery-node', 24000), drain('ceiling:both', 30000), drain('ceiling:broker', 36000)] };
    expect(ceilingShareNeeded(r, 'amqp', 'celery-node', 1.5, 'ceiling:broker')).toBeCloseTo(1, 10);
    expect(ceilingShareNeeded(r, 'amqp', 'celery-node', 1.5)).toBeCloseTo(1.2, 10);
  });

  it('takes the rate without stalls when the median round stalled', () => {
    const r = { drain: [drain('python', 2000, { rateWithoutStalls: 3000 }), drain('ceiling:both', 30000)] };
    expect(ceilingShareNeeded(r, 'amqp', 'python', 10)).toBeCloseTo(1, 10);
  });

  it('is undefined without a ceiling or without the other worker', () => {
    expect(ceilingShareNeeded({ drain: [drain('celery-node', 24000)] }, 'amqp', 'celery-node', 1.5)).toBeUndefined();
    expect(ceilingShareNeeded({ drain: [drain('ceiling:both', 30000)] }, 'amqp', 'celery-node', 1.5)).toBeUndefined();
    expect(ceilingShareNeeded({ drain: [drain('celery-node', 24000), drain('ceiling:both', 30000)] }, 'redis', 'celery-node', 1.5)).toBeUndefined();
  });
});
