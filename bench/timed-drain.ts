/**
 * One drain of the bench's newer rows (quorum queues, CPU-bound and I/O tasks): N tasks
 * preloaded on a fresh queue, one worker started on it, rate = (N − 1) / (last − first result
 * stored) as in drain.scenario.ts; then every result is checked (SUCCESS, x + y) and the queue
 * must be empty. Beside the rate: the machine's load average and busy share over the drain.
 */
import { loadavg } from 'node:os';
import type { BrokerKind } from './config.js';
import { config } from './config.js';
import type { BenchContext } from './context.js';
import { preload, type PreloadOptions } from './preload.js';
import { cpuTimeMs, machineTicks } from './processes.js';
import { errorText } from './stats.js';

export interface RunningWorker {
  pid: number | undefined;
  died: Promise<never>;
  stop(): Promise<unknown>;
}

export interface TimedDrainFigure {
  n: number;
  rate?: number;
  seconds?: number;
  /** CPU time of the worker's main process per task, µs (a pool's children not included) */
  workerCpuUsPerTask?: number;
  /** the whole machine's CPU use over the drain, % of all cores */
  machineBusyPct?: number;
  /** 1-minute load average at the end of the drain */
  loadAverage?: number;
  /** results missing or not SUCCESS with i + 1 */
  wrongResults?: number;
  error?: string;
}

const SETTLE_MS = 500;

export async function timedDrain(
  ctx: BenchContext,
  label: string,
  kind: BrokerKind,
  queue: string,
  n: number,
  preloadOptions: PreloadOptions,
  startWorker: () => RunningWorker,
): Promise<TimedDrainFigure> {
  const figure: TimedDrainFigure = { n };
  let ids: string[] = [];
  let worker: RunningWorker | undefined;
  try {
    ctx.progress(`${label}: preloading ${n} tasks on ${queue}`);
    ids = (await preload(ctx, kind, queue, n, preloadOptions)).ids;
    const at = { cpu: null as number | null, machine: machineTicks() };
    const started = startWorker();
    worker = started;
    const completion = await ctx.observer.waitFor(label, ids, config.stallMs, started.died, () => {
      at.cpu = cpuTimeMs(started.pid);
      at.machine = machineTicks();
    });
    const endCpu = cpuTimeMs(started.pid);
    const endMachine = machineTicks();
    figure.loadAverage = loadavg()[0];
    const ms = completion.last - completion.first;
    figure.seconds = ms / 1000;
    figure.rate = ((n - 1) * 1000) / ms;
    if (at.cpu !== null && endCpu !== null) figure.workerCpuUsPerTask = ((endCpu - at.cpu) * 1000) / (n - 1);
    figure.machineBusyPct = ((endMachine.busy - at.machine.busy) / Math.max(1, endMachine.total - at.machine.total)) * 100;
    // let the last acks land: stopping a worker restores what it has not acked yet
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    await worker.stop();
    worker = undefined;
    figure.wrongResults = await ctx.admin.verifyResults(ids, (i) => i + 1);
    const left = await ctx.admin.depth(kind, queue);
    if (left !== 0) throw new Error(`${left} messages left in ${queue} after all ${n} results were stored`);
  } catch (error) {
    figure.error = errorText(error);
    ctx.progress(`${label} failed: ${figure.error}`);
  } finally {
    await worker?.stop().catch(() => undefined);
    await ctx.admin.deleteQueue(kind, queue).catch(() => undefined);
    await ctx.admin.deleteResults(ids).catch(() => undefined);
  }
  return figure;
}
