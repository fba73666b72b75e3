/** bench/report.ts's ceilingShareNeeded and targetAsks: what "ours ≥ k × another worker" asks as a share of the combined ceiling. */
import type { DrainFigure } from '../../bench/drain.scenario.js';
import { ceilingShareNeeded, computeRatios, targetAsks } from '../../bench/report.js';

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

describe('bench target asks', () => {
  // the RabbitMQ drain medians of a run on 2026-12-07 (12:23 UTC, 2 cores)
  const run = (ours: number) => {
    const figures = [drain('ours', ours), drain('python', 1565), drain('celery-node', 12061), drain('ceiling:broker', 18864), drain('ceiling:both', 16908)];
    return { drain: figures, ratios: computeRatios({ drain: figures, publish: [], rtt: [] }) };
  };

  it('says, for each target over another worker not met, its share of the combined ceiling beside ours', () => {
    const lines = targetAsks(run(15064), 'amqp');
    expect(lines).toHaveLength(2);
    // 10 × 1,565 / 16,908 and 15,064 / 16,908
    expect(lines[0]).toBe('   RabbitMQ: ≥ 10× Python needs 0.93× the CEILING both (ours ran at 0.89×)');
    // 1.5 × 12,061 / 16,908 = 1.07; / 18,864 = 0.96
    expect(lines[1]).toBe(
      '   RabbitMQ: ≥ 1.5× celery-node needs 1.07× the CEILING both (ours ran at 0.89×): faster than broker + backend with no Celery logic at all' +
        ' (celery-node acks on receipt); it is 0.96× the CEILING broker alone, where nothing is decoded or stored',
    );
  });

  it('says nothing of a target that was met', () => {
    const lines = targetAsks(run(16000), 'amqp');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ {3}RabbitMQ: ≥ 1\.5× celery-node needs/);
  });

  it('says nothing without a ceiling to measure against', () => {
    const figures = [drain('ours', 15064), drain('python', 1565), drain('celery-node', 12061)];
    expect(targetAsks({ drain: figures, ratios: computeRatios({ drain: figures, publish: [], rtt: [] }) }, 'amqp')).toEqual([]);
  });
});
