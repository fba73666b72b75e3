/**
 * The memory soak (issue 18 item 5), opt-in: BENCH_SOAK=1000000 tasks through one worker of
 * ours (Redis broker by default), fed in batches of BENCH_SOAK_EVERY (default a tenth, at most
 * 100,000) while it consumes, so the broker never holds more than a batch or two. After each
 * batch: the worker's RSS and V8 heap reserved (heapTotal) and used, after a full GC, and where
 * the resident pages lie (V8's heap pages, the C heap: bench/children/memory.ts). Then:
 *  - flat: after warm-up (the first 2 samples; 1 when there are fewer than 6), RSS and what V8
 *    holds (its resident heap pages: heapTotal plus its page pool) each stay within 10 % of the
 *    lowest of them (max ≤ 1.1 × min). heapTotal alone is printed beside it: V8 moves new-space
 *    pages between heapTotal and its pool at each GC, so it swings while the memory does not;
 *  - returned: RSS BENCH_SOAK_AFTER_MS after the last task (default: 5 s past the worker's idle
 *    memory release, option idleMemoryRelease) within 10 % of the idle RSS before the first,
 *    beside the peak and the V8 pages V8 pools rather than gives back;
 *  - the worker's CPU per task over the soak, so a V8 option (BENCH_SOAK_NODE_ARGS) that saves
 *    memory shows what it costs;
 *  - idle RSS of a bare Nest microservice (no-op transport) and of the same with our CeleryServer
 *    connected and consuming, so Nest's own share is visible.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { benchQueue, config, int, SHORT } from './config.js';
import type { BenchContext } from './context.js';
import { preload, taskIds } from './preload.js';
import { cpuTimeMs, NodeChild } from './processes.js';
import { errorText } from './stats.js';
import { DEFAULT_IDLE_MEMORY_RELEASE } from '../libs/nestjs-celery/src/engine/worker/idle-memory-release.js';

const MB = 1024 * 1024;
const tasks = int('BENCH_SOAK', 1, 20_000);
export const soakConfig = {
  /** set BENCH_SOAK (tasks) to run the soak; BENCH_SHORT runs a short one (20,000 tasks) */
  enabled: SHORT || (process.env.BENCH_SOAK !== undefined && process.env.BENCH_SOAK !== ''),
  tasks,
  every: int('BENCH_SOAK_EVERY', Math.max(1, Math.min(100_000, Math.floor(tasks / 10)))),
  broker: config.rssBroker,
  /** Node/V8 options of the soak's worker (BENCH_SOAK_NODE_ARGS, space-separated), e.g. --max-semi-space-size=16 */
  nodeArgs: (process.env.BENCH_SOAK_NODE_ARGS ?? '').split(' ').filter(Boolean),
  /** how long after the last task the "after the drain" sample is taken: past the worker's idle memory release */
  afterDrainMs: int('BENCH_SOAK_AFTER_MS', DEFAULT_IDLE_MEMORY_RELEASE * 1000 + 5_000),
};
export const SOAK_FLAT_PCT = 10;
const IDLE_SETTLE_MS = 2_000;

export interface SoakSample {
  tasks: number;
  rssMB: number;
  heapTotalMB: number;
  heapUsedMB: number;
  /** V8's young generation (new space) and old space reserved */
  newSpaceMB?: number;
  oldSpaceMB?: number;
  /** resident in the C heap (brk: glibc's main arena) and in anonymous mappings (V8's pages, other arenas) */
  brkMB?: number;
  anonMB?: number;
  /** resident in V8's 256 KiB heap pages: heapTotal's plus the ones V8 pools for reuse */
  v8PagesMB?: number;
  /** ArrayBuffers and Buffers outside the V8 heap */
  arrayBuffersMB?: number;
  /** 1-minute load average when the sample was taken */
  loadAverage: number;
}

export interface SoakFigure {
  broker: string;
  tasks: number;
  every: number;
  idle?: SoakSample;
  samples: SoakSample[];
  afterDrain?: SoakSample;
  /** right after `afterDrain`, with V8's last-resort GC (which frees its page pool) instead of a full GC */
  afterRelease?: SoakSample;
  /** after warm-up: (max − min) / min of RSS and of heap reserved, % */
  rssSpreadPct?: number;
  heapTotalSpreadPct?: number;
  /** the same for V8's resident heap pages (heapTotal plus its page pool) */
  v8PagesSpreadPct?: number;
  warmupSamples?: number;
  flat?: boolean;
  /** drain rate over the whole soak (feeding included), tasks/s */
  rate?: number;
  /** the worker's CPU time (user + system) per task over the soak, µs */
  cpuUsPerTask?: number;
  /** the worker's Node/V8 options (BENCH_SOAK_NODE_ARGS) */
  nodeArgs?: string[];
  /** RSS after the drain over the idle RSS before the first task, % above idle; returned = within SOAK_FLAT_PCT */
  afterDrainOverIdlePct?: number;
  /** when the after-drain sample was taken, ms after the last task */
  afterDrainMs?: number;
  returned?: boolean;
  wrongResults?: number;
  /** idle RSS of a Nest microservice with a no-op transport, and with our CeleryServer */
  nestBareRssMB?: number;
  nestCeleryRssMB?: number;
  error?: string;
}

type MemoryMessage = {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  tasks?: number;
  arrayBuffers?: number;
  brkKB?: number;
  anonKB?: number;
  v8PagesKB?: number;
} & Record<string, number | undefined>;

async function sample(child: NodeChild, tasksDone: number, lastResort = false): Promise<SoakSample> {
  child.send({ type: 'sample', lastResort });
  const m = (await child.next('sample', 60_000)) as unknown as MemoryMessage;
  const mb = (bytes?: number) => (bytes === undefined ? undefined : bytes / MB);
  const kbToMB = (kB?: number) => (kB === undefined ? undefined : kB / 1024);
  return {
    tasks: m.tasks ?? tasksDone,
    rssMB: m.rss / MB,
    heapTotalMB: m.heapTotal / MB,
    heapUsedMB: m.heapUsed / MB,
    newSpaceMB: mb(m['space:new_space']),
    oldSpaceMB: mb(m['space:old_space']),
    brkMB: kbToMB(m.brkKB),
    anonMB: kbToMB(m.anonKB),
    v8PagesMB: kbToMB(m.v8PagesKB),
    arrayBuffersMB: mb(m.arrayBuffers),
    loadAverage: loadavg()[0],
  };
}

function progress(ctx: BenchContext, when: string, s: SoakSample): void {
  const f = (x?: number) => x?.toFixed(1) ?? '?';
  ctx.progress(
    `soak, ${when}: RSS ${f(s.rssMB)} MB (C heap ${f(s.brkMB)}, anonymous ${f(s.anonMB)}, of it V8 pages ${f(s.v8PagesMB)}; ArrayBuffers ${f(s.arrayBuffersMB)}), heap reserved ${f(s.heapTotalMB)} MB (new space ${f(s.newSpaceMB)}, old ${f(s.oldSpaceMB)}), used ${f(s.heapUsedMB)} MB (load ${f(s.loadAverage)})`,
  );
}

const spread = (xs: number[]) => ((Math.max(...xs) - Math.min(...xs)) / Math.min(...xs)) * 100;

/** Idle RSS of a Nest microservice child (nest-idle.ts) after it settled. */
async function nestIdleRss(ctx: BenchContext, mode: 'bare' | 'celery'): Promise<number> {
  const kind = soakConfig.broker;
  const queue = benchQueue(`nest-idle-${mode}`);
  const child = new NodeChild(
    `Nest microservice (${mode})`,
    'nest-idle.js',
    { mode, broker: config.brokers[kind], backend: config.backend, queue },
    { execArgv: ['--expose-gc'] },
  );
  try {
    await child.next('ready');
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
    return (await sample(child, 0)).rssMB;
  } finally {
    await child.stop();
    if (mode === 'celery') await ctx.admin.deleteQueue(kind, queue).catch(() => undefined);
  }
}

export async function soak(ctx: BenchContext): Promise<SoakFigure> {
  const kind = soakConfig.broker;
  const { tasks: total, every } = soakConfig;
  const figure: SoakFigure = {
    broker: kind,
    tasks: total,
    every,
    samples: [],
    wrongResults: 0,
    nodeArgs: soakConfig.nodeArgs,
    afterDrainMs: soakConfig.afterDrainMs,
  };
  const queue = benchQueue(`soak-${kind}`);
  let worker: NodeChild | undefined;
  let batchIds: string[] = [];
  try {
    figure.nestBareRssMB = await nestIdleRss(ctx, 'bare');
    figure.nestCeleryRssMB = await nestIdleRss(ctx, 'celery');
    worker = new NodeChild(
      'our worker (soak)',
      'our-worker.js',
      { broker: config.brokers[kind], backend: config.backend, queue, task: config.task, concurrency: config.concurrency, ackMode: config.ackMode },
      { execArgv: ['--expose-gc', ...soakConfig.nodeArgs] },
    );
    await worker.next('ready');
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
    figure.idle = await sample(worker, 0);
    progress(ctx, 'idle', figure.idle);
    const started = performance.now();
    const cpuBefore = cpuTimeMs(worker.pid);
    for (let done = 0; done < total; done += batchIds.length) {
      const n = Math.min(every, total - done);
      const idBase = randomUUID().slice(0, 24);
      batchIds = taskIds(idBase, n);
      // watch before sending: the worker consumes while the batch is fed
      const stored = ctx.observer.waitFor('our worker (soak)', batchIds, config.stallMs, worker.died);
      await preload(ctx, kind, queue, n, { idBase, consumed: true });
      await stored;
      figure.wrongResults! += await ctx.admin.verifyResults(batchIds, (i) => i + 1);
      await ctx.admin.deleteResults(batchIds);
      figure.samples.push(await sample(worker, done + n));
      progress(ctx, `${(done + n).toLocaleString('en-US')} tasks`, figure.samples.at(-1)!);
    }
    figure.rate = (total * 1000) / (performance.now() - started);
    const cpuAfter = cpuTimeMs(worker.pid);
    if (cpuBefore !== null && cpuAfter !== null) figure.cpuUsPerTask = ((cpuAfter - cpuBefore) * 1000) / total;
    batchIds = [];
    await new Promise((r) => setTimeout(r, soakConfig.afterDrainMs));
    figure.afterDrain = await sample(worker, total);
    progress(ctx, 'after the drain', figure.afterDrain);
    figure.afterDrainOverIdlePct = (figure.afterDrain.rssMB / figure.idle.rssMB - 1) * 100;
    figure.returned = figure.afterDrainOverIdlePct <= SOAK_FLAT_PCT;
    figure.afterRelease = await sample(worker, total, true);
    progress(ctx, "after V8's last-resort GC", figure.afterRelease);
    const warmup = figure.samples.length >= 6 ? 2 : 1;
    const steady = figure.samples.slice(warmup);
    if (steady.length >= 2) {
      figure.warmupSamples = warmup;
      figure.rssSpreadPct = spread(steady.map((s) => s.rssMB));
      figure.heapTotalSpreadPct = spread(steady.map((s) => s.heapTotalMB));
      const v8Pages = steady.map((s) => s.v8PagesMB);
      if (v8Pages.every((x) => x !== undefined && x > 0)) figure.v8PagesSpreadPct = spread(v8Pages as number[]);
      // without /proc (not Linux) only heapTotal tells what V8 holds
      const heldSpread = figure.v8PagesSpreadPct ?? figure.heapTotalSpreadPct;
      figure.flat = figure.rssSpreadPct <= SOAK_FLAT_PCT && heldSpread <= SOAK_FLAT_PCT;
    }
  } catch (error) {
    figure.error = errorText(error);
    ctx.progress(`soak failed: ${figure.error}`);
  } finally {
    await worker?.stop().catch(() => undefined);
    await ctx.admin.deleteQueue(kind, queue).catch(() => undefined);
    await ctx.admin.deleteResults(batchIds).catch(() => undefined);
  }
  return figure;
}
