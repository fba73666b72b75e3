/**
 * Worker throughput: N tasks preloaded on a fresh queue, then one worker started on it; the
 * drain rate is (N − 1) / (last − first result stored), timed by the result observer.
 */
import { config, benchQueue, type BrokerKind } from './config.js';
import type { BenchContext } from './context.js';
import { preload } from './preload.js';
import { cpuTimeMs, machineTicks, NodeChild, PythonWorker } from './processes.js';
import { errorText } from './stats.js';

const SETTLE_MS = 500;

export type WorkerName = 'ours' | 'python' | 'celery-node';

export interface DrainFigure {
  broker: BrokerKind;
  worker: WorkerName;
  n: number;
  /** tasks per second, first → last result */
  rate?: number;
  seconds?: number;
  /** the worker process's CPU use between first and last result, % of one core */
  workerCpuPct?: number;
  /** the whole machine's CPU use in that window, % of all cores */
  machineBusyPct?: number;
  /** the longest wait between two consecutive results (a worker stalling shows here), ms */
  maxGapMs?: number;
  /** results missing or not SUCCESS with x + y after the drain */
  wrongResults?: number;
  /** consumers on the queue while draining (RabbitMQ only) */
  consumers?: number | null;
  /** our client's publish rate while preloading (no result backend) */
  preloadRate?: number;
  error?: string;
}

function maxGap(times: Float64Array): number {
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
  return gap;
}

interface RunningWorker {
  pid: number | undefined;
  died: Promise<never>;
  stop(): Promise<unknown>;
}

function startWorker(name: WorkerName, kind: BrokerKind, queue: string): RunningWorker {
  const broker = config.brokers[kind];
  const label = `${name} worker on ${kind}`;
  if (name === 'python') return new PythonWorker(label, { broker, backend: config.backend, queue });
  if (name === 'celery-node') return new NodeChild(label, 'celery-node-worker.js', { broker, backend: config.backend, queue, task: config.task }, { quiet: true });
  return new NodeChild(label, 'our-worker.js', { broker, backend: config.backend, queue, task: config.task, concurrency: config.concurrency }, { profileName: `worker-drain-${kind}` });
}

export async function drain(ctx: BenchContext, kind: BrokerKind, name: WorkerName): Promise<DrainFigure> {
  const n = config.n;
  const figure: DrainFigure = { broker: kind, worker: name, n };
  const queue = benchQueue(`drain-${name}-${kind}`);
  let ids: string[] = [];
  let worker: RunningWorker | undefined;
  try {
    ctx.progress(`drain ${name} on ${kind}: preloading ${n} tasks on ${queue}`);
    const loaded = await preload(ctx, kind, queue, n);
    ids = loaded.ids;
    figure.preloadRate = loaded.rate;
    if ((await ctx.admin.consumers(kind, queue)) ?? 0) throw new Error(`queue ${queue} already has a consumer before the worker started`);
    ctx.progress(`drain ${name} on ${kind}: worker started`);
    const at = { cpu: null as number | null, machine: machineTicks() };
    const started = startWorker(name, kind, queue);
    worker = started;
    const completion = await ctx.observer.waitFor(`${name} worker on ${kind}`, ids, config.stallMs, started.died, () => {
      at.cpu = cpuTimeMs(started.pid);
      at.machine = machineTicks();
    });
    const endCpu = cpuTimeMs(started.pid);
    const endMachine = machineTicks();
    const ms = completion.last - completion.first;
    figure.seconds = ms / 1000;
    figure.rate = ((n - 1) * 1000) / ms;
    figure.maxGapMs = maxGap(completion.times);
    if (at.cpu !== null && endCpu !== null) figure.workerCpuPct = ((endCpu - at.cpu) / ms) * 100;
    figure.machineBusyPct = ((endMachine.busy - at.machine.busy) / Math.max(1, endMachine.total - at.machine.total)) * 100;
    figure.consumers = await ctx.admin.consumers(kind, queue);
    // let the last acks land: stopping a worker restores what it has not acked yet
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    await worker.stop();
    worker = undefined;
    figure.wrongResults = await ctx.admin.verifyResults(ids, (i) => i + 1);
    const left = await ctx.admin.depth(kind, queue);
    if (left !== 0) {
      const again = (await ctx.admin.queuedTaskIds(kind, queue))?.filter((id) => ids.includes(id)).length;
      throw new Error(`${left} messages left in ${queue} after all ${n} results were stored${again === undefined ? '' : ` (${again} of them copies of tasks already done)`}`);
    }
  } catch (error) {
    figure.error = errorText(error);
    ctx.progress(`drain ${name} on ${kind} failed: ${figure.error}`);
  } finally {
    await worker?.stop().catch(() => undefined);
    await ctx.admin.deleteQueue(kind, queue).catch(() => undefined);
    await ctx.admin.deleteResults(ids).catch(() => undefined);
  }
  return figure;
}
