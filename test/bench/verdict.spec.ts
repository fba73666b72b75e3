/** bench/verdict.ts: which results make `npm run bench` (and CI's BENCH_SHORT=1 run) exit 1. */
import type { BenchResults } from '../../bench/report.js';
import { problems } from '../../bench/verdict.js';

function run(over: Partial<BenchResults> = {}): BenchResults {
  return {
    meta: {
      date: '2026-12-06T00:00:00.000Z',
      cpus: 2,
      node: 'v24.1.0',
      nodes: { 22: 'v22.1.0' },
      pythonCelery: '5.2.6',
      celeryNode: '0.5.9',
      rabbitmq: '3.10',
      redis: '7.0',
      busyBeforePct: 0,
    },
    drain: [
      { broker: 'redis', worker: 'ours', node: 'v24.1.0', n: 500, rate: 9000, wrongResults: 0, round: 1 },
      { broker: 'redis', worker: 'ours', node: 'v22.1.0', n: 500, rate: 8000, wrongResults: 0, round: 1 },
      { broker: 'redis', worker: 'python', n: 500, rate: 900, wrongResults: 0, round: 1 },
    ],
    publish: [{ broker: 'redis', client: 'ours', confirms: true, n: 500, rate: 10000 }],
    rtt: [{ broker: 'redis', pair: 'ours', n: 100, p50Ms: 1 }],
    cpu: {
      broker: 'redis',
      cores: 2,
      mib: 60,
      ioMs: 20,
      processes: 2,
      rows: [{ n: 6, rate: 20, task: 'bench.hash', worker: 'ours-processes', wrongResults: 0 }],
      ratios: {},
    },
    soak: { broker: 'redis', tasks: 20000, every: 2000, samples: [], wrongResults: 0, flat: false },
    ratios: { 'drain.oursOverPython.redis': { value: 2, target: 10, met: false } },
    ...over,
  };
}

describe('bench verdict', () => {
  it('passes a run whose results are all right, whatever its timings and targets', () => {
    expect(problems(run())).toEqual([]);
  });

  it('fails on wrong results, naming the row and its Node', () => {
    const r = run();
    r.drain[1].wrongResults = 500;
    r.soak!.wrongResults = 3;
    expect(problems(r)).toEqual(['drain ours on Node v22.1.0, redis, round 1: 500 results wrong or missing', 'soak: 3 results wrong or missing']);
  });

  it('fails on a stalled or failed part and on a drain without a rate', () => {
    const r = run();
    r.drain[2] = { ...r.drain[2], rate: undefined, error: 'python worker on redis: no result for 30 s (stalled)\nmore' };
    r.drain[0].rate = undefined;
    r.rtt[0].error = 'bench.add(3, 1) returned 5';
    r.cpu!.rows[0].error = 'exited';
    expect(problems(r)).toEqual([
      'drain ours, redis, round 1: no rate',
      'drain python, redis, round 1: python worker on redis: no result for 30 s (stalled)',
      'round trip ours, redis: bench.add(3, 1) returned 5',
      'cpu bench.hash ours-processes: exited',
    ]);
  });

  it('fails when a Node major or a Celery peer could not run (a missing result)', () => {
    const r = run({
      quorum: { urls: {}, n: 300, rows: [], peers: { 'python-5.5': '5.5.2', 'python-5.6': 'unavailable (not built)' }, ratios: {} },
    });
    r.meta.nodes = { 22: 'v22.1.0', 26: 'scripts/ci/node.sh 26 failed: npm error 404' };
    expect(problems(r)).toEqual(['Node 26: scripts/ci/node.sh 26 failed: npm error 404', 'quorum: python-5.6 unavailable (not built)']);
  });
});
