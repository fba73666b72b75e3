/**
 * Our worker's memory over many tasks: `rssTasks` preloaded, drained by our worker child,
 * which reports RSS and heap (after a full GC) every `rssEvery` completions. "Flat" = RSS and
 * heap of the last sample within 10 % of the sample at 2 × rssEvery (after warm-up).
 */
import { config, benchQueue } from './config.js';
import type { BenchContext } from './context.js';
import { preload } from './preload.js';
import { NodeChild } from './processes.js';
import { errorText } from './stats.js';

export interface RssSample {
  tasks: number;
  rssMB: number;
  heapUsedMB: number;
}

export interface RssFigure {
  broker: string;
  tasks: number;
  samples: RssSample[];
  /** RSS: (last − sample at 2 × every) / sample at 2 × every, % */
  growthPct?: number;
  /** the same for the heap in use after a full GC (what a leak would grow) */
  heapGrowthPct?: number;
  flat?: boolean;
  /** drain rate over the whole run, tasks/s */
  rate?: number;
  error?: string;
}

const MB = 1024 * 1024;
export const FLAT_TOLERANCE_PCT = 10;

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
    worker = new NodeChild('our worker (rss)', 'our-worker.js', {
      broker: config.brokers[kind],
      backend: config.backend,
      queue,
      task: config.task,
      concurrency: config.concurrency, ackMode: config.ackMode,
      rssEvery: config.rssEvery,
    }, { profileName: `worker-rss-${kind}`, execArgv: ['--expose-gc'] });
    worker.process.on('message', (m: { type: string; tasks: number; rss: number; heapUsed: number }) => {
      if (m.type === 'rss') figure.samples.push({ tasks: m.tasks, rssMB: m.rss / MB, heapUsedMB: m.heapUsed / MB });
    });
    const completion = await ctx.observer.waitFor('our worker (rss)', ids, config.stallMs, worker.died);
    figure.rate = ((ids.length - 1) * 1000) / (completion.last - completion.first);
    // the last sample is sent within 5 ms of the last task
    await new Promise((r) => setTimeout(r, 100));
    await worker.stop();
    worker = undefined;
    const ref = figure.samples.find((s) => s.tasks >= 2 * config.rssEvery);
    const last = figure.samples.at(-1);
    if (ref && last && last !== ref) {
      figure.growthPct = ((last.rssMB - ref.rssMB) / ref.rssMB) * 100;
      figure.heapGrowthPct = ((last.heapUsedMB - ref.heapUsedMB) / ref.heapUsedMB) * 100;
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
