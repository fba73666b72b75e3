/**
 * Round trip of one task at a time (send → result), client and worker of the same kind. On
 * RabbitMQ each pair runs without publisher confirms (Celery's default; ours with
 * confirmPublish: false) and with them (our default; Python with confirm_publish=True): a
 * confirmed send of a persistent message waits for RabbitMQ's fsync, which no client can beat.
 */
import { config, benchQueue, type BrokerKind } from './config.js';
import type { BenchContext } from './context.js';
import { NodeChild, PythonWorker, runPythonScript, type NodeBinary } from './processes.js';
import { errorText, percentile } from './stats.js';

const WARMUP = 20;

export interface RttFigure {
  broker: BrokerKind;
  pair: 'ours' | 'python';
  /**
   * RabbitMQ publisher confirms awaited by the send (always true on Redis, whose LPUSH reply is
   * one); absent in figures from before this field, which were all confirmed
   */
  confirms?: boolean;
  /** ours: the Node version of our worker and client (process.version of the children) */
  node?: string;
  n: number;
  p50Ms?: number;
  p99Ms?: number;
  meanMs?: number;
  error?: string;
}

/**
 * @param confirms RabbitMQ: the client awaits publisher confirms (ignored on Redis)
 * @param node for 'ours': the Node binary of our worker and client (default: the bench's own)
 */
export async function roundTrip(ctx: BenchContext, kind: BrokerKind, pair: 'ours' | 'python', confirms: boolean, node?: NodeBinary): Promise<RttFigure> {
  const n = config.rttN;
  const figure: RttFigure = { broker: kind, pair, confirms, n, ...(pair === 'ours' ? { node: node?.version ?? process.version } : {}) };
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
          String(WARMUP),
        ]),
        worker.died,
      ]);
      ({ latenciesMs: latencies, ids } = out);
    } else {
      const w = new NodeChild(
        `our worker (rtt, ${kind})`,
        'our-worker.js',
        { broker, backend: config.backend, queue, task: config.task, concurrency: config.concurrency, ackMode: config.ackMode },
        { profileName: `worker-rtt-${kind}${node ? `-node${node.major}` : ''}`, execPath: node?.execPath },
      );
      worker = w;
      await w.next('ready');
      const client = new NodeChild(
        `our client (rtt, ${kind})`,
        'our-client.js',
        { mode: 'rtt', broker, backend: config.backend, queue, task: config.task, n, inflight: 1, warmup: WARMUP, confirmPublish: confirms },
        { profileName: `client-rtt-${kind}${confirms ? '' : '-noconfirm'}${node ? `-node${node.major}` : ''}`, execPath: node?.execPath },
      );
      try {
        const out = await Promise.race([client.next('result', 600_000), w.died]);
        latencies = out.latenciesMs as number[];
        ids = out.ids as string[];
      } finally {
        await client.stop();
      }
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
