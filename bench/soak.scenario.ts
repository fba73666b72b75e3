/**
 * The memory soak (issue 18 item 5), opt-in: BENCH_SOAK=1000000 tasks through one worker of
 * ours (Redis broker by default), fed in batches of BENCH_SOAK_EVERY (default a tenth, at most
 * 100,000) while it consumes, so the broker never holds more than a batch or two. After each
 * batch: the worker's RSS and V8 heap reserved (heapTotal) and used, after a full GC. Then:
 *  - flat: after warm-up (the first 2 samples; 1 when there are fewer than 6), RSS and heap
 *    reserved each stay within 10 % of the lowest of them (max ≤ 1.1 × min);
 *  - returned: RSS 5 s after the last task, beside the peak and the idle RSS before the first;
 *  - idle RSS of a bare Nest microservice (no-op transport) and of the same with our CeleryServer
 *    connected and consuming, so Nest's own share is visible.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { benchQueue, config, int, SHORT } from './config.js';
import type { BenchContext } from './context.js';
import { preload, taskIds } from './preload.js';
import { NodeChild } from './processes.js';
import { errorText } from './stats.js';

const MB = 1024 * 1024;
const tasks = int('BENCH_SOAK', 1, 20_000);
export const soakConfig = {
  /** set BENCH_SOAK (tasks) to run the soak; BENCH_SHORT runs a short one (20,000 tasks) */
  enabled: SHORT || (process.env.BENCH_SOAK !== undefined && process.env.BENCH_SOAK !== ''),
  tasks,
  every: int('BENCH_SOAK_EVERY', Math.max(1, Math.min(100_000, Math.floor(tasks / 10)))),
  broker: config.rssBroker,
};
export const SOAK_FLAT_PCT = 10;
const IDLE_SETTLE_MS = 2_000;
const AFTER_DRAIN_MS = 5_000;

export interface SoakSample {
  tasks: number;
  rssMB: number;
  heapTotalMB: number;
  heapUsedMB: number;
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
  /** after warm-up: (max − min) / min of RSS and of heap reserved, % */
  rssSpreadPct?: number;
  heapTotalSpreadPct?: number;
  warmupSamples?: number;
  flat?: boolean;
  /** drain rate over the whole soak (feeding included), tasks/s */
  rate?: number;
  wrongResults?: number;
  /** idle RSS of a Nest microservice with a no-op transport, and with our CeleryServer */
  nestBareRssMB?: number;
  nestCeleryRssMB?: number;
  error?: string;
}

type MemoryMessage = { rss: number; heapTotal: number; heapUsed: number; tasks?: number };

async function sample(child: NodeChild, tasksDone: number): Promise<SoakSample> {
  child.send({ type: 'sample' });
  const m = (await child.next('sample', 60_000)) as unknown as MemoryMessage;
  return { tasks: m.tasks ?? tasksDone, rssMB: m.rss / MB, heapTotalMB: m.heapTotal / MB, heapUsedMB: m.heapUsed / MB, loadAverage: loadavg()[0] };
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
  const figure: SoakFigure = { broker: kind, tasks: total, every, samples: [], wrongResults: 0 };
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
      { execArgv: ['--expose-gc'] },
    );
    await worker.next('ready');
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
    figure.idle = await sample(worker, 0);
    const started = performance.now();
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
      const s = figure.samples.at(-1)!;
      ctx.progress(
        `soak: ${(done + n).toLocaleString('en-US')} tasks, RSS ${s.rssMB.toFixed(1)} MB, heap reserved ${s.heapTotalMB.toFixed(1)} MB (load ${s.loadAverage.toFixed(1)})`,
      );
    }
    figure.rate = (total * 1000) / (performance.now() - started);
    batchIds = [];
    await new Promise((r) => setTimeout(r, AFTER_DRAIN_MS));
    figure.afterDrain = await sample(worker, total);
    const warmup = figure.samples.length >= 6 ? 2 : 1;
    const steady = figure.samples.slice(warmup);
    if (steady.length >= 2) {
      figure.warmupSamples = warmup;
      figure.rssSpreadPct = spread(steady.map((s) => s.rssMB));
      figure.heapTotalSpreadPct = spread(steady.map((s) => s.heapTotalMB));
      figure.flat = figure.rssSpreadPct <= SOAK_FLAT_PCT && figure.heapTotalSpreadPct <= SOAK_FLAT_PCT;
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
