/**
 * Our worker's memory over many tasks: `rssTasks` preloaded, drained by our worker child,
 * which reports RSS and heap (after a full GC) every `rssEvery` completions. "Flat" = RSS and
 * heap of the last 3 samples within 10 % of the 3 from 2 × rssEvery on (after warm-up), in mean.
 */
import { config, benchQueue } from './config.js';
import type { BenchContext } from './context.js';
import { preload } from './preload.js';
import { NodeChild } from './processes.js';
import { errorText } from './stats.js';

export interface RssSample {
  tasks: number;
  rssMB: number;
  /** what V8 has reserved for the heap: RSS follows it, up and down */
  heapTotalMB: number;
  heapUsedMB: number;
}

export interface RssFigure {
  broker: string;
  tasks: number;
  samples: RssSample[];
  /** RSS: mean of the last 3 samples vs mean of the 3 from 2 × every on, % */
  growthPct?: number;
  /** the same for the heap in use after a full GC (what a leak would grow) */
  heapGrowthPct?: number;
  flat?: boolean;
  /** drain rate over the whole run, tasks/s */
  rate?: number;
  /** results missing or not SUCCESS with i + 1 after the run */
  wrongResults?: number;
  error?: string;
}

const MB = 1024 * 1024;
export const FLAT_TOLERANCE_PCT = 10;
/** samples averaged at each end of the comparison */
export const WINDOW = 3;

const mean = (samples: RssSample[], key: 'rssMB' | 'heapUsedMB') => samples.reduce((a, x) => a + x[key], 0) / samples.length;
const growth = (from: number, to: number) => ((to - from) / from) * 100;

export async function rssOverTime(ctx: BenchContext): Promise<RssFigure> {
  const kind = config.rssBroker;
  const figure: RssFigure = { broker: kind, tasks: config.rssTasks, samples: [] };
  const queue = benchQueue(`rss-${kind}`);
  let ids: string[] = [];
  let worker: NodeChild | undefined;
  try {
    ctx.progress(`rss: preloading ${config.rssTasks} tasks on ${kind} (${queue})`);
    ids = (await preload(ctx, kind, queue, config.rssTasks)).ids;
    ctx.progress(`rss: our worker draining them`);
    worker = new NodeChild(
      'our worker (rss)',
      'our-worker.js',
      {
        broker: config.brokers[kind],
        backend: config.backend,
        queue,
        task: config.task,
        concurrency: config.concurrency,
        ackMode: config.ackMode,
        rssEvery: config.rssEvery,
      },
      { profileName: `worker-rss-${kind}`, execArgv: ['--expose-gc'] },
    );
    worker.process.on('message', (m: { type: string; tasks: number; rss: number; heapTotal: number; heapUsed: number }) => {
      if (m.type === 'rss') figure.samples.push({ tasks: m.tasks, rssMB: m.rss / MB, heapTotalMB: m.heapTotal / MB, heapUsedMB: m.heapUsed / MB });
    });
    const completion = await ctx.observer.waitFor('our worker (rss)', ids, config.stallMs, worker.died);
    figure.rate = ((ids.length - 1) * 1000) / (completion.last - completion.first);
    // the last sample is sent within 5 ms of the last task
    await new Promise((r) => setTimeout(r, 100));
    await worker.stop();
    worker = undefined;
    figure.wrongResults = await ctx.admin.verifyResults(ids, (i) => i + 1);
    // single samples jump by tens of MB (young generation, buffers): compare means of 3
    const start = figure.samples.findIndex((x) => x.tasks >= 2 * config.rssEvery);
    const early = start >= 0 ? figure.samples.slice(start, start + WINDOW) : [];
    const late = figure.samples.slice(-WINDOW);
    if (early.length === WINDOW && late.length === WINDOW && start + WINDOW <= figure.samples.length - WINDOW) {
      figure.growthPct = growth(mean(early, 'rssMB'), mean(late, 'rssMB'));
      figure.heapGrowthPct = growth(mean(early, 'heapUsedMB'), mean(late, 'heapUsedMB'));
      figure.flat = figure.growthPct <= FLAT_TOLERANCE_PCT && figure.heapGrowthPct <= FLAT_TOLERANCE_PCT;
    }
  } catch (error) {
    figure.error = errorText(error);
    ctx.progress(`rss failed: ${figure.error}`);
  } finally {
    await worker?.stop().catch(() => undefined);
    await ctx.admin.deleteQueue(kind, queue).catch(() => undefined);
    await ctx.admin.deleteResults(ids).catch(() => undefined);
  }
  return figure;
}
