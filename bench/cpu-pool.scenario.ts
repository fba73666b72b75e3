/**
 * CPU-bound and I/O-bound tasks on our two pools (issue 15): N × bench.hash(i, 1, mib) — SHA-256
 * over `mib` MiB, a fixed amount of work (~50 ms on one core here) — drained by our worker on the
 * event loop (one task at a time in effect: the hashing holds the loop), by our processes pool with
 * `processes` children, and by Python Celery's `worker -P solo` and `-P prefork -c processes`; then
 * N × bench.sleep(i, 1, ms) (an awaited timer) on our event loop with concurrency = `processes`
 * and on our processes pool with as many children. Rates in tasks/s; ratios with their targets.
 */
import { availableParallelism } from 'node:os';
import { benchQueue, config, int, type BrokerKind } from './config.js';
import type { BenchContext } from './context.js';
import { NodeChild, PythonWorker } from './processes.js';
import { ratio } from './stats.js';
import { timedDrain, type TimedDrainFigure } from './timed-drain.js';

export const cpuConfig = {
  /** hashing tasks per drain */
  n: int('BENCH_CPU_N', 60, 6),
  /** MiB each bench.hash task hashes (60 MiB ≈ 50 ms of SHA-256 on one core of this machine, ~1.2 GB/s; 48 MiB took 39 ms) */
  mib: int('BENCH_CPU_MIB', 60),
  /** our processes pool's children and Python prefork's -c; also the event loop's concurrency for I/O */
  processes: int('BENCH_CPU_PROCESSES', 2),
  /** I/O tasks per drain and each one's timer, ms */
  ioN: int('BENCH_IO_N', 200, 40),
  ioMs: int('BENCH_IO_MS', 20),
  broker: (process.env.BENCH_CPU_BROKER ?? 'redis') as BrokerKind,
};

export type CpuRowName = 'ours-event-loop' | 'ours-processes' | 'python-solo' | 'python-prefork';

export interface CpuRow extends TimedDrainFigure {
  task: 'bench.hash' | 'bench.sleep';
  worker: CpuRowName;
}

export interface CpuFigure {
  broker: BrokerKind;
  cores: number;
  mib: number;
  ioMs: number;
  processes: number;
  rows: CpuRow[];
  ratios: Record<string, { value?: number; target: number; met?: boolean }>;
}

/** Targets: the processes pool on 2 cores at least 1.6× one core (80 % of ideal), as fast as prefork within 10 %, I/O no slower within 5 % noise. */
export const CPU_TARGETS = { scalesWithCores: 1.6, oursOverPrefork: 0.9, ioNoSlower: 0.95 };

function ourWorker(kind: BrokerKind, queue: string, pool: 'event-loop' | 'processes', concurrency: number): NodeChild {
  return new NodeChild(`our worker (${pool}) on ${kind}`, 'our-worker.js', {
    broker: config.brokers[kind],
    backend: config.backend,
    queue,
    task: 'bench.hash',
    concurrency,
    ackMode: config.ackMode,
    pool,
  });
}

async function row(ctx: BenchContext, task: CpuRow['task'], worker: CpuRowName): Promise<CpuRow> {
  const kind = cpuConfig.broker;
  const p = cpuConfig.processes;
  const queue = benchQueue(`cpu-${worker}-${kind}`);
  const hash = task === 'bench.hash';
  const start = () => {
    if (worker === 'python-solo') return new PythonWorker(`Python solo on ${kind}`, { broker: config.brokers[kind], backend: config.backend, queue });
    if (worker === 'python-prefork')
      return new PythonWorker(`Python prefork on ${kind}`, { broker: config.brokers[kind], backend: config.backend, queue }, [
        '-P',
        'prefork',
        '-c',
        String(p),
      ]);
    // the event loop runs `p` tasks at once: CPU-bound ones still one after the other
    return ourWorker(kind, queue, worker === 'ours-processes' ? 'processes' : 'event-loop', p);
  };
  const figure = await timedDrain(
    ctx,
    `${task} ${worker} on ${kind}`,
    kind,
    queue,
    hash ? cpuConfig.n : cpuConfig.ioN,
    { task, extraArgs: [hash ? cpuConfig.mib : cpuConfig.ioMs] },
    start,
  );
  return { ...figure, task, worker };
}

export async function cpuBound(ctx: BenchContext): Promise<CpuFigure> {
  const rows: CpuRow[] = [];
  for (const w of ['ours-event-loop', 'ours-processes', 'python-solo', 'python-prefork'] as const) rows.push(await row(ctx, 'bench.hash', w));
  for (const w of ['ours-event-loop', 'ours-processes'] as const) rows.push(await row(ctx, 'bench.sleep', w));
  const rate = (task: CpuRow['task'], w: CpuRowName) => rows.find((r) => r.task === task && r.worker === w && !r.error && !r.wrongResults)?.rate;
  const ratios: CpuFigure['ratios'] = {};
  const add = (key: string, value: number | undefined, target: number) =>
    (ratios[key] = { value, target, met: value === undefined ? undefined : value >= target });
  add('hash.processesOverEventLoop', ratio(rate('bench.hash', 'ours-processes'), rate('bench.hash', 'ours-event-loop')), CPU_TARGETS.scalesWithCores);
  add('hash.oursProcessesOverPythonPrefork', ratio(rate('bench.hash', 'ours-processes'), rate('bench.hash', 'python-prefork')), CPU_TARGETS.oursOverPrefork);
  add('hash.pythonPreforkOverSolo', ratio(rate('bench.hash', 'python-prefork'), rate('bench.hash', 'python-solo')), CPU_TARGETS.scalesWithCores);
  add('io.processesOverEventLoop', ratio(rate('bench.sleep', 'ours-processes'), rate('bench.sleep', 'ours-event-loop')), CPU_TARGETS.ioNoSlower);
  return { broker: cpuConfig.broker, cores: availableParallelism(), mib: cpuConfig.mib, ioMs: cpuConfig.ioMs, processes: cpuConfig.processes, rows, ratios };
}
