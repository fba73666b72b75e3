/**
 * Worker throughput: BENCH_WARMUP + N tasks preloaded on a fresh queue, then one worker started
 * on it; it runs the warm-up tasks untimed, and the drain rate is (N − 1) / (last − first result
 * stored) of the N after them, timed by the result observer.
 */
import { config, benchQueue, type BrokerKind } from './config.js';
import type { BenchContext } from './context.js';
import { preload } from './preload.js';
import { cpuTimeMs, machineTicks, NodeChild, PythonWorker, serverPids, type NodeBinary } from './processes.js';
import { errorText } from './stats.js';

const SETTLE_MS = 500;
/** a pause between two results at least this long counts as a stall */
export const STALL_MS = 250;

/** the workers compared, and the ceilings measured beside them (ceiling.ts) */
export type WorkerName = 'ours' | 'python' | 'celery-node' | 'ceiling:broker' | 'ceiling:backend' | 'ceiling:both';

export interface DrainFigure {
  broker: BrokerKind;
  worker: WorkerName;
  /** our worker's Node version (process.version of the child) */
  node?: string;
  /** which drain round (1-based; see config.rounds) */
  round?: number;
  n: number;
  /** untimed tasks the worker ran first (BENCH_WARMUP) */
  warmup?: number;
  /** tasks per second, first → last result */
  rate?: number;
  seconds?: number;
  /** the worker process's CPU use between first and last result, % of one core */
  workerCpuPct?: number;
  /** the worker process's CPU time per task in that window, µs (steadier than rates on a shared machine) */
  workerCpuUsPerTask?: number;
  /** CPU use of the RabbitMQ and Redis servers in that window, % of one core */
  serverCpuPct?: Record<string, number>;
  /** the bench process itself (the observer), % of one core */
  observerCpuPct?: number;
  /** the whole machine's CPU use in that window, % of all cores */
  machineBusyPct?: number;
  /** the longest wait between two consecutive results (a worker stalling shows here), ms */
  maxGapMs?: number;
  /** time spent in pauses ≥ STALL_MS between two results, ms */
  stalledMs?: number;
  /** (N − 1) / (last − first − stalledMs): what the rate would be without those pauses */
  rateWithoutStalls?: number;
  /** results missing or not SUCCESS with x + y after the drain */
  wrongResults?: number;
  /** consumers on the queue while draining (RabbitMQ only) */
  consumers?: number | null;
  /** our client's publish rate while preloading (no result backend) */
  preloadRate?: number;
  error?: string;
}

/** The longest pause between consecutive results, and the sum of those ≥ STALL_MS. */
function pauses(times: Float64Array): { maxGapMs: number; stalledMs: number } {
  let maxGapMs = 0;
  let stalledMs = 0;
  for (let i = 1; i < times.length; i++) {
    const gap = times[i] - times[i - 1];
    if (gap > maxGapMs) maxGapMs = gap;
    if (gap >= STALL_MS) stalledMs += gap;
  }
  return { maxGapMs, stalledMs };
}

interface RunningWorker {
  pid: number | undefined;
  died: Promise<never>;
  stop(): Promise<unknown>;
}

function startWorker(name: WorkerName, kind: BrokerKind, queue: string, node?: NodeBinary): RunningWorker {
  const broker = config.brokers[kind];
  const label = `${name} worker on ${kind}`;
  if (name === 'python') return new PythonWorker(label, { broker, backend: config.backend, queue });
  if (name === 'celery-node')
    return new NodeChild(label, 'celery-node-worker.js', { broker, backend: config.backend, queue, task: config.task }, { quiet: true });
  if (name === 'ceiling:both')
    return new NodeChild(
      label,
      'ceiling-raw.js',
      { mode: 'both', broker, backend: config.backend, queue, n: config.warmup + config.n, concurrency: config.concurrency, inflight: config.inflight },
      { profileName: `ceiling-both-${kind}` },
    );
  if (name !== 'ours') throw new Error(`${name} is not a worker the drain starts (see ceiling.ts)`);
  return new NodeChild(
    label,
    'our-worker.js',
    { broker, backend: config.backend, queue, task: config.task, concurrency: config.concurrency, ackMode: config.ackMode },
    { profileName: `worker-drain-${kind}${node ? `-node${node.major}` : ''}`, execPath: node?.execPath },
  );
}

/** @param node for 'ours': the Node binary to run it with (default: the bench's own) */
export async function drain(ctx: BenchContext, kind: BrokerKind, name: WorkerName, node?: NodeBinary): Promise<DrainFigure> {
  const n = config.n;
  const figure: DrainFigure = { broker: kind, worker: name, n, ...(name === 'ours' ? { node: node?.version ?? process.version } : {}) };
  const queue = benchQueue(`drain-${name}-${kind}`);
  /** every task preloaded (the warm-up ones first), and the N timed ones after them */
  let all: string[] = [];
  let ids: string[] = [];
  let worker: RunningWorker | undefined;
  try {
    ctx.progress(`drain ${name}${node ? ` (Node ${node.version})` : ''} on ${kind}: preloading ${config.warmup} + ${n} tasks on ${queue}`);
    const loaded = await preload(ctx, kind, queue, config.warmup + n);
    all = loaded.ids;
    ids = all.slice(config.warmup);
    figure.warmup = config.warmup;
    figure.preloadRate = loaded.rate;
    if ((await ctx.admin.consumers(kind, queue)) ?? 0) throw new Error(`queue ${queue} already has a consumer before the worker started`);
    ctx.progress(`drain ${name} on ${kind}: worker started`);
    const servers = serverPids();
    const at = { cpu: null as number | null, machine: machineTicks(), servers: servers.map((s) => cpuTimeMs(s.pid)), self: cpuTimeMs(process.pid) };
    const started = startWorker(name, kind, queue, node);
    worker = started;
    const completion = await ctx.observer.waitFor(
      `${name} worker on ${kind}`,
      ids,
      config.stallMs,
      started.died,
      () => {
        at.cpu = cpuTimeMs(started.pid);
        at.machine = machineTicks();
        at.servers = servers.map((s) => cpuTimeMs(s.pid));
        at.self = cpuTimeMs(process.pid);
      },
      all.slice(0, config.warmup),
    );
    const endSelf = cpuTimeMs(process.pid);
    const endCpu = cpuTimeMs(started.pid);
    const endServers = servers.map((s) => cpuTimeMs(s.pid));
    const endMachine = machineTicks();
    const ms = completion.last - completion.first;
    figure.seconds = ms / 1000;
    figure.rate = ((n - 1) * 1000) / ms;
    const { maxGapMs, stalledMs } = pauses(completion.times);
    figure.maxGapMs = maxGapMs;
    figure.stalledMs = stalledMs;
    figure.rateWithoutStalls = ((n - 1) * 1000) / (ms - stalledMs);
    if (at.cpu !== null && endCpu !== null) {
      figure.workerCpuPct = ((endCpu - at.cpu) / ms) * 100;
      figure.workerCpuUsPerTask = ((endCpu - at.cpu) * 1000) / (n - 1);
    }
    figure.serverCpuPct = Object.fromEntries(
      servers.flatMap((s, i) => (at.servers[i] === null || endServers[i] === null ? [] : [[s.name, ((endServers[i] - at.servers[i]) / ms) * 100]])),
    );
    if (at.self !== null && endSelf !== null) figure.observerCpuPct = ((endSelf - at.self) / ms) * 100;
    figure.machineBusyPct = ((endMachine.busy - at.machine.busy) / Math.max(1, endMachine.total - at.machine.total)) * 100;
    figure.consumers = await ctx.admin.consumers(kind, queue);
    // let the last acks land: stopping a worker restores what it has not acked yet
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    await worker.stop();
    worker = undefined;
    // the warm-up tasks' results too: add(i, 1) for the i-th preloaded
    figure.wrongResults = await ctx.admin.verifyResults(all, (i) => i + 1);
    const left = await ctx.admin.depth(kind, queue);
    if (left !== 0) {
      const again = (await ctx.admin.queuedTaskIds(kind, queue))?.filter((id) => all.includes(id)).length;
      throw new Error(
        `${left} messages left in ${queue} after all ${n} results were stored${again === undefined ? '' : ` (${again} of them copies of tasks already done)`}`,
      );
    }
  } catch (error) {
    figure.error = errorText(error);
    ctx.progress(`drain ${name} on ${kind} failed: ${figure.error}`);
  } finally {
    await worker?.stop().catch(() => undefined);
    await ctx.admin.deleteQueue(kind, queue).catch(() => undefined);
    await ctx.admin.deleteResults(all).catch(() => undefined);
  }
  return figure;
}
