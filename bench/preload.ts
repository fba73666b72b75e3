/** Fill a fresh queue with N add(i, 1) tasks with publisher confirms: our client, or Python's with BENCH_PRELOADER=python. */
import { config, type BrokerKind } from './config.js';
import type { BenchContext } from './context.js';
import { NodeChild, runPythonScript } from './processes.js';

export interface Preloaded {
  ids: string[];
  /** sends per second of our client without a result backend (confirms only) */
  rate: number;
}

/** Where and what to preload when not the bench's defaults (the broker of `kind`, bench.add(i, 1), a classic queue). */
export interface PreloadOptions {
  brokerUrl?: string;
  task?: string;
  /** arguments after (i, 1) */
  extraArgs?: unknown[];
  queueType?: 'classic' | 'quorum';
  /** task i's id is idBase + i as 12 hex digits (see taskIds) */
  idBase?: string;
  /** a worker already consumes the queue: its depth says nothing (the results are the check) */
  consumed?: boolean;
}

/** The ids `preload` gives n tasks with options.idBase: known before sending, so a watch on their results can start first. */
export function taskIds(idBase: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => idBase + i.toString(16).padStart(12, '0'));
}

export async function preload(ctx: BenchContext, kind: BrokerKind, queue: string, n: number, options: PreloadOptions = {}): Promise<Preloaded> {
  const custom = Object.keys(options).length > 0;
  if (config.preloader === 'python' && !custom) {
    const out = await runPythonScript<{ ids: string[]; seconds: number }>('bench_preload.py', { broker: config.brokers[kind], backend: 'disabled://', queue }, [
      String(n),
    ]);
    await checkDepth(ctx, kind, queue, n);
    return { ids: out.ids, rate: n / out.seconds };
  }
  const client = new NodeChild(`preload ${queue}`, 'our-client.js', {
    mode: 'preload',
    broker: options.brokerUrl ?? config.brokers[kind],
    backend: null,
    queue,
    task: options.task ?? config.task,
    n,
    inflight: config.inflight,
    queueType: options.queueType,
    extraArgs: options.extraArgs,
    idBase: options.idBase,
  });
  try {
    const result = await client.next('result', 600_000);
    if (!options.consumed) await checkDepth(ctx, kind, queue, n);
    return { ids: result.ids as string[], rate: n / (result.seconds as number) };
  } finally {
    await client.stop();
  }
}

async function checkDepth(ctx: BenchContext, kind: BrokerKind, queue: string, n: number): Promise<void> {
  const depth = await ctx.admin.depth(kind, queue);
  if (depth !== n) throw new Error(`preloaded ${n} tasks with confirms but queue ${queue} holds ${depth}`);
}
