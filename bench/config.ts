/** What `npm run bench` runs against, from the environment (defaults fit a 2-core machine in a few minutes). */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type BrokerKind = 'amqp' | 'redis';

/**
 * BENCH_SHORT=1: every part with tiny sizes (CI's run, a couple of minutes on a loaded machine);
 * it checks results, not timings (bench/verdict.ts).
 */
export const SHORT = process.env.BENCH_SHORT === '1' || process.env.BENCH_SHORT === 'true';

/** A positive integer from the environment variable `name`, or the default when unset (`short` under BENCH_SHORT). */
export function int(name: string, fallback: number, short = fallback): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return SHORT ? short : fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}=${raw} is not a positive integer: unset it or give e.g. ${name}=${fallback}`);
  return n;
}

/**
 * A comma-separated list from the environment variable `name`, or `fallback` when unset; an entry
 * outside `allowed` throws, naming them, so a typo fails at the start, not in the report.
 */
export function list<T extends string>(name: string, fallback: readonly T[], allowed: readonly T[]): T[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return [...fallback];
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = items.filter((x) => !(allowed as readonly string[]).includes(x));
  if (unknown.length) throw new Error(`${name}=${raw}: ${unknown.join(', ')} not one of ${allowed.join(', ')}`);
  return items as T[];
}

/** the repository root, whether we run from bench/ (source) or dist/bench/ (compiled) */
const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, here.includes(`${join('dist', 'bench')}`) ? '../..' : '..');

const PARTS = ['drain', 'publish', 'rtt', 'rss', 'quorum', 'cpu'] as const;
const WORKERS = ['ours', 'python', 'celery-node'] as const;

export const config = {
  brokers: {
    amqp: process.env.BENCH_AMQP_URL ?? process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672//',
    redis: process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
  } as Record<BrokerKind, string>,
  /** the result backend of every scenario */
  backend: process.env.BENCH_BACKEND_URL ?? process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
  /** which brokers to run (BENCH_BROKERS=amqp,redis) */
  brokerKinds: list<BrokerKind>('BENCH_BROKERS', ['amqp', 'redis'], ['amqp', 'redis']),
  /** which parts to run (BENCH_ONLY=drain,publish,rtt,rss,quorum,cpu; the soak runs when BENCH_SOAK is set) */
  parts: new Set(list('BENCH_ONLY', PARTS, PARTS)),
  /** which workers the drain part runs (BENCH_WORKERS=ours,python,celery-node; the ceilings always run) */
  workers: list('BENCH_WORKERS', WORKERS, WORKERS),
  /** tasks per drain and per publish-rate run */
  n: int('BENCH_N', 20_000, 500),
  /**
   * tasks each drain's worker runs first, untimed, ahead of the N timed ones on the same queue: a
   * worker runs for hours, and a fresh Node process spends its first thousands of tasks in code
   * V8 has not optimised yet, and its first seconds growing its young generation (at 5,000 the
   * timed tasks of a fast worker began ~0.2 s into its life, mid-growth: bench/README.md,
   * "Warm-up"). BENCH_WARMUP=1 times a cold worker.
   */
  warmup: int('BENCH_WARMUP', 40_000, 100),
  /**
   * drain rounds: each round drains once with every worker, interleaved, and the report takes
   * each worker's median, so a slow spell of the machine does not land on one worker only
   */
  rounds: int('BENCH_ROUNDS', 3, 1),
  /** who preloads the drain queues: our client (default) or Python's send_task */
  preloader: (process.env.BENCH_PRELOADER ?? 'ours') as 'ours' | 'python',
  /** sends in flight in our publish-rate and preload runs */
  inflight: int('BENCH_INFLIGHT', 1_000),
  /**
   * our worker's concurrency (= prefetch). 500: with late acks the window has to cover a whole
   * cycle (run, store, ack, RabbitMQ's refill); at 200 it ran dry between RabbitMQ's bursts
   * (9.0k/s against 11.7k/s at 500 in one interleaved run here; 1000 gained nothing more)
   */
  concurrency: int('BENCH_CONCURRENCY', 500),
  /** our worker's ack mode: late (default: ack after the outcome is stored) or early (BENCH_ACK_MODE=early, for comparison only) */
  ackMode: process.env.BENCH_ACK_MODE === 'early' ? 'early' : 'late',
  /** measured round trips, after rttWarmup untimed ones */
  rttN: int('BENCH_RTT_N', 1_000, 100),
  /**
   * untimed round trips before the measured ones, for every pair alike: as in a drain, a fresh
   * Node client and worker spend their first thousands of tasks in code V8 has not optimised yet
   * (bench/README.md, "Round trip, cold and warm"; BENCH_RTT_WARMUP=20 times cold processes)
   */
  rttWarmup: int('BENCH_RTT_WARMUP', 5_000, 20),
  /** tasks of the RSS run, sampled every rssEvery */
  rssTasks: int('BENCH_RSS_TASKS', 100_000, 3_000),
  rssEvery: int('BENCH_RSS_EVERY', 10_000, 300),
  rssBroker: (process.env.BENCH_RSS_BROKER ?? 'redis') as BrokerKind,
  /**
   * the Node majors our worker and client children run on besides the bench's own (BENCH_NODES=22,24,26;
   * binaries from scripts/ci/node.sh); a row per version in the report
   */
  nodes: (process.env.BENCH_NODES ?? '22,24,26')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number),
  /** a drain stalls when no result arrives for this long */
  stallMs: int('BENCH_STALL_MS', 30_000),
  /** BENCH_PROFILE=1: our worker and client children run with --cpu-prof into .bench/profiles */
  profile: process.env.BENCH_PROFILE === '1' || process.env.BENCH_PROFILE === 'true',
  /** extra arguments of `celery worker` (BENCH_PYTHON_WORKER_ARGS, space-separated) */
  pythonWorkerArgs: (process.env.BENCH_PYTHON_WORKER_ARGS ?? '').split(' ').filter(Boolean),
  python: process.env.BENCH_PYTHON ?? process.env.TEST_PYTHON ?? '/usr/bin/python3',
  pythonDir: join(ROOT, 'bench', 'python'),
  outDir: join(ROOT, '.bench'),
  /** the task every worker runs: add(x, y) = x + y */
  task: 'bench.add',
};

export function outPath(...parts: string[]): string {
  const p = join(config.outDir, ...parts);
  mkdirSync(dirname(p), { recursive: true });
  return p;
}

/** A unique queue name per scenario, so no other consumer can be on it. */
export function benchQueue(label: string): string {
  return `bench.${label}.${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 6)}`;
}
