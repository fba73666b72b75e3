/** Fill a fresh queue with N add(i, 1) tasks with publisher confirms: our client, or Python's with BENCH_PRELOADER=python. */
import { config, type BrokerKind } from './config.js';
import type { BenchContext } from './context.js';
import { NodeChild, runPythonScript } from './processes.js';

export interface Preloaded {
  ids: string[];
  /** sends per second of our client without a result backend (confirms only) */
  rate: number;
}

export async function preload(ctx: BenchContext, kind: BrokerKind, queue: string, n: number): Promise<Preloaded> {
  if (config.preloader === 'python') {
    const out = await runPythonScript<{ ids: string[]; seconds: number }>('bench_preload.py', { broker: config.brokers[kind], backend: 'disabled://', queue }, [
      String(n),
    ]);
    await checkDepth(ctx, kind, queue, n);
    return { ids: out.ids, rate: n / out.seconds };
  }
  const client = new NodeChild(`preload ${queue}`, 'our-client.js', {
    mode: 'preload',
    broker: config.brokers[kind],
    backend: null,
    queue,
    task: config.task,
    n,
    inflight: config.inflight,
  });
  try {
    const result = await client.next('result', 600_000);
    await checkDepth(ctx, kind, queue, n);
    return { ids: result.ids as string[], rate: n / (result.seconds as number) };
  } finally {
    await client.stop();
  }
}

async function checkDepth(ctx: BenchContext, kind: BrokerKind, queue: string, n: number): Promise<void> {
  const depth = await ctx.admin.depth(kind, queue);
  if (depth !== n) throw new Error(`preloaded ${n} tasks with confirms but queue ${queue} holds ${depth}`);
}
