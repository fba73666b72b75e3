/**
 * Round trip of one task at a time (send → result), client and worker of the same kind. On
 * RabbitMQ each pair runs without publisher confirms (Celery's default; ours with
 * confirmPublish: false) and with them (our default; Python with confirm_publish=True): a
 * confirmed send of a persistent message waits for RabbitMQ's fsync, which no client can beat.
 * The floor ('ceiling') is the same hops with no Celery logic (children/ceiling-raw.ts), at
 * Celery's default only.
 */
import { config, benchQueue, type BrokerKind } from './config.js';
import type { BenchContext } from './context.js';
import { NodeChild, PythonWorker, runPythonScript, type NodeBinary } from './processes.js';
import { errorText, percentile } from './stats.js';

export interface RttFigure {
  broker: BrokerKind;
  /** ceiling: the round trip floor, a raw client and consumer (children/ceiling-raw.ts) */
  pair: 'ours' | 'python' | 'ceiling';
  /**
   * RabbitMQ publisher confirms awaited by the send (always true on Redis, whose LPUSH reply is
   * one); absent in figures from before this field, which were all confirmed
   */
  confirms?: boolean;
  /** ours: the Node version of our worker and client (process.version of the children) */
  node?: string;
  n: number;
  /** untimed round trips before the n (absent in figures from before this field: 20) */
  warmup?: number;
  p50Ms?: number;
  p99Ms?: number;
  meanMs?: number;
  error?: string;
}

/**
 * @param confirms RabbitMQ: the client awaits publisher confirms (ignored on Redis)
 * @param node for 'ours': the Node binary of our worker and client (default: the bench's own)
 */
export async function roundTrip(ctx: BenchContext, kind: BrokerKind, pair: RttFigure['pair'], confirms: boolean, node?: NodeBinary): Promise<RttFigure> {
  const n = config.rttN;
  const figure: RttFigure = {
    broker: kind,
    pair,
    confirms,
    n,
    warmup: config.rttWarmup,
    ...(pair === 'ours' ? { node: node?.version ?? process.version } : {}),
  };
  const queue = benchQueue(`rtt-${pair}-${kind}`);
  const confirmNote = kind === 'amqp' ? (confirms ? ' with confirms' : ' without confirms') : '';
  const broker = config.brokers[kind];
  let ids: string[] = [];
  let worker: NodeChild | PythonWorker | undefined;
  try {
    ctx.progress(`round trip ${pair}${node ? ` (Node ${node.version})` : ''} on ${kind}${confirmNote}: ${n} tasks one at a time on ${queue}`);
    let latencies: number[];
    if (pair === 'python') {
      worker = new PythonWorker(`python worker (rtt, ${kind})`, { broker, backend: config.backend, queue });
      const out = await Promise.race([
        runPythonScript<{ latenciesMs: number[]; ids: string[] }>('bench_rtt.py', { broker, backend: config.backend, queue, confirmPublish: confirms }, [
          String(n),
          String(config.rttWarmup),
        ]),
        worker.died,
      ]);
      ({ latenciesMs: latencies, ids } = out);
    } else if (pair === 'ceiling') {
      const raw = { broker, backend: config.backend, queue, concurrency: config.concurrency, inflight: 1 };
      const w = new NodeChild(`round trip floor consumer (${kind})`, 'ceiling-raw.js', { ...raw, mode: 'both', declare: true, n: config.rttWarmup + n }, {});
      worker = w;
      ({ latenciesMs: latencies, ids } = await nodeRoundTrips(
        w,
        () => new NodeChild(`round trip floor client (${kind})`, 'ceiling-raw.js', { ...raw, mode: 'rtt', n, warmup: config.rttWarmup }, {}),
      ));
    } else {
      const w = new NodeChild(
        `our worker (rtt, ${kind})`,
        'our-worker.js',
        { broker, backend: config.backend, queue, task: config.task, concurrency: config.concurrency, ackMode: config.ackMode },
        { profileName: `worker-rtt-${kind}${node ? `-node${node.major}` : ''}`, execPath: node?.execPath },
      );
      worker = w;
      ({ latenciesMs: latencies, ids } = await nodeRoundTrips(
        w,
        () =>
          new NodeChild(
            `our client (rtt, ${kind})`,
            'our-client.js',
            { mode: 'rtt', broker, backend: config.backend, queue, task: config.task, n, inflight: 1, warmup: config.rttWarmup, confirmPublish: confirms },
            { profileName: `client-rtt-${kind}${confirms ? '' : '-noconfirm'}${node ? `-node${node.major}` : ''}`, execPath: node?.execPath },
          ),
      ));
    }
    figure.p50Ms = percentile(latencies, 50);
    figure.p99Ms = percentile(latencies, 99);
    figure.meanMs = latencies.reduce((a, b) => a + b, 0) / latencies.length;
  } catch (error) {
    figure.error = errorText(error);
    ctx.progress(`round trip ${pair} on ${kind}${confirmNote} failed: ${figure.error}`);
  } finally {
    await worker?.stop().catch(() => undefined);
    await ctx.admin.deleteQueue(kind, queue).catch(() => undefined);
    await ctx.admin.deleteResults(ids).catch(() => undefined);
  }
  return figure;
}

/** Once the worker child is ready, a client child times the round trips; it is stopped whatever happens. */
async function nodeRoundTrips(worker: NodeChild, startClient: () => NodeChild): Promise<{ latenciesMs: number[]; ids: string[] }> {
  await worker.next('ready');
  const client = startClient();
  try {
    const out = await Promise.race([client.next('result', 600_000), worker.died]);
    return { latenciesMs: out.latenciesMs as number[], ids: out.ids as string[] };
  } finally {
    await client.stop();
  }
}
