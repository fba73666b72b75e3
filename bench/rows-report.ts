/** The report's sections for the quorum-queue rows, the CPU-bound/I/O rows and the memory soak. */
import type { CpuFigure, CpuRowName } from './cpu-pool.scenario.js';
import type { QuorumFigure, QuorumSide } from './quorum.scenario.js';
import { int, rate, shortError, table, times } from './report.js';
import { SOAK_FLAT_PCT, type SoakFigure, type SoakSample } from './soak.scenario.js';
import type { TimedDrainFigure } from './timed-drain.js';

type Ratio = { value?: number; target: number; met?: boolean };

const verdict = (x?: Ratio) => (x?.value === undefined ? '' : x.met ? 'met' : 'NOT met');
const load = (x?: number) => (x === undefined ? '–' : x.toFixed(1));
const mb = (x?: number) => (x === undefined ? '–' : `${x.toFixed(1)} MB`);

function rateCell(f: TimedDrainFigure): string {
  if (f.error) return shortError(f.error);
  return f.wrongResults ? `${rate(f.rate)} (${f.wrongResults} results WRONG or missing)` : rate(f.rate);
}

function ratioRows(ratios: Record<string, Ratio>, labels: Record<string, string>, targetText: (key: string, r: Ratio) => string): string[][] {
  return Object.entries(labels).map(([key, label]) => {
    const r = ratios[key];
    return [label, times(r?.value), r ? targetText(key, r) : '', verdict(r)];
  });
}

const SIDE_LABELS: Record<QuorumSide, string> = { ours: 'ours', 'python-5.5': 'Python Celery 5.5 (-P solo)', 'python-5.6': 'Python Celery 5.6 (-P solo)' };

export function quorumSection(f: QuorumFigure, out: string[]): void {
  out.push('');
  out.push(`5. Quorum queues on RabbitMQ ${f.rabbitmq ?? '4.x'}: ${f.n.toLocaleString('en-US')} tasks per drain and per publish run, Redis result backend`);
  out.push('   drain as in 1. (ours: late ack, same concurrency); publish: sends with publisher confirms to a queue nobody consumes.');
  out.push(
    `   Python peers: ${
      Object.entries(f.peers)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || '–'
    }`,
  );
  out.push(
    `   nodes: ${Object.entries(f.urls)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')} (Celery 5.5.2's pidbox queue is transient and non-exclusive, which the`,
  );
  out.push('   main node denies; its second node, the same RabbitMQ, permits only that)');
  if (f.error) return void out.push(`  ${shortError(f.error)}`);
  const rows: string[][] = [['part', 'worker / client', 'queue', 'rate', 'µs/task', 'load avg']];
  for (const r of f.rows) {
    rows.push([
      r.part,
      SIDE_LABELS[r.side],
      r.queueType,
      rateCell(r),
      r.workerCpuUsPerTask === undefined ? '–' : int(r.workerCpuUsPerTask),
      load(r.loadAverage),
    ]);
  }
  out.push(table(rows));
  const labels: Record<string, string> = {};
  for (const part of ['drain', 'publish']) {
    labels[`${part}.oursQuorumOverClassic`] = `${part}: ours quorum / ours classic`;
    labels[`${part}.oursOverPython55`] = `${part}: ours / Python 5.5, both quorum`;
    labels[`${part}.oursOverPython56`] = `${part}: ours / Python 5.6, both quorum`;
  }
  out.push(table(ratioRows(f.ratios, labels, (_k, r) => `target ≥ ${r.target}×${r.target === 0.7 ? ' (70 %)' : ''}`)));
}

const CPU_LABELS: Record<CpuRowName, string> = {
  'ours-event-loop': 'ours, event loop',
  'ours-processes': 'ours, processes pool',
  'python-solo': 'Python Celery 5.2 -P solo',
  'python-prefork': 'Python Celery 5.2 -P prefork',
};

export function cpuSection(f: CpuFigure, out: string[]): void {
  out.push('');
  out.push(`6. CPU-bound and I/O-bound tasks on ${f.cores} cores (${f.broker} broker, Redis results), one drain each`);
  out.push(`   bench.hash: SHA-256 over ${f.mib} MiB per task (fixed work); bench.sleep: an awaited ${f.ioMs} ms timer.`);
  out.push(`   processes pool and prefork: ${f.processes} children; event loop: concurrency ${f.processes}.`);
  const rows: string[][] = [['task', 'worker', 'rate', 'ms per task on one core', 'machine busy', 'load avg']];
  for (const r of f.rows) {
    const single = r.task === 'bench.hash' && (r.worker === 'ours-event-loop' || r.worker === 'python-solo') && r.rate ? (1000 / r.rate).toFixed(1) : '';
    rows.push([r.task, CPU_LABELS[r.worker], rateCell(r), single, r.machineBusyPct === undefined ? '–' : `${int(r.machineBusyPct)}%`, load(r.loadAverage)]);
  }
  out.push(table(rows));
  out.push(
    table(
      ratioRows(
        f.ratios,
        {
          'hash.processesOverEventLoop': 'CPU: ours processes / ours event loop',
          'hash.pythonPreforkOverSolo': 'CPU: Python prefork / Python solo (for reference)',
          'hash.oursProcessesOverPythonPrefork': 'CPU: ours processes / Python prefork',
          'io.processesOverEventLoop': 'I/O: ours processes / ours event loop',
        },
        (k, r) =>
          `target ≥ ${r.target}× (${k.startsWith('io') ? 'I/O no slower' : k.includes('Prefork') && !k.includes('Solo') ? 'as fast as prefork' : 'scales with cores'})`,
      ),
    ),
  );
}

const overIdle = (pctOver: number) =>
  pctOver >= 0.5 ? `${pctOver.toFixed(0)} % above idle` : pctOver <= -0.5 ? `${(-pctOver).toFixed(0)} % below idle` : 'at idle';
const pct = (x?: number) => (x === undefined ? '–' : `${x.toFixed(1)} %`);

const sampleRow = (label: string, s?: SoakSample) => [
  label,
  s ? int(s.tasks) : '–',
  mb(s?.rssMB),
  mb(s?.v8PagesMB),
  mb(s?.heapTotalMB),
  mb(s?.heapUsedMB),
  mb(s?.brkMB),
  load(s?.loadAverage),
];

export function soakSection(f: SoakFigure, out: string[]): void {
  out.push('');
  out.push(
    `7. Memory soak: ${f.tasks.toLocaleString('en-US')} tasks through one worker of ours (${f.broker} broker), fed ${f.every.toLocaleString('en-US')} at a time`,
  );
  out.push(
    '   memory after a full GC; "V8 pages" = resident in V8\'s 256 KiB heap pages, "heap reserved" = the part V8 counts (heapTotal; the rest is its page pool), "heap used" = live, "C heap" = glibc\'s brk heap.',
  );
  if (f.nodeArgs?.length) out.push(`   worker started with ${f.nodeArgs.join(' ')}`);
  if (f.error) out.push(`  ${shortError(f.error)}`);
  out.push(
    table([
      ['', 'tasks', 'RSS', 'V8 pages', 'heap reserved', 'heap used', 'C heap', 'load avg'],
      sampleRow('idle, before the first task', f.idle),
      ...f.samples.map((s) => sampleRow('', s)),
      sampleRow(`${((f.afterDrainMs ?? 5000) / 1000).toFixed(0)} s after the last`, f.afterDrain),
      ...(f.afterRelease ? [sampleRow("then V8's last-resort GC", f.afterRelease)] : []),
    ]),
  );
  if (f.rssSpreadPct !== undefined) {
    out.push(
      `  after ${f.warmupSamples} warm-up sample(s): RSS spread ${f.rssSpreadPct.toFixed(1)} %, V8 pages ${pct(f.v8PagesSpreadPct)} → ${f.flat ? 'flat' : 'NOT flat'} (target: each within ${SOAK_FLAT_PCT} %, (max − min) / min); heap reserved (heapTotal) alone ${pct(f.heapTotalSpreadPct)}`,
    );
  }
  if (f.afterDrain && f.samples.length) {
    const peak = Math.max(...f.samples.map((s) => s.rssMB));
    const over = f.afterDrainOverIdlePct;
    out.push(
      `  RSS after the drain ${mb(f.afterDrain.rssMB)} vs peak ${mb(peak)} and idle ${mb(f.idle?.rssMB)}` +
        (over === undefined ? '' : `: ${overIdle(over)} → ${f.returned ? 'returned' : 'NOT returned'} (target: within ${SOAK_FLAT_PCT} % of idle)`),
    );
    const pooled = (f.afterDrain.v8PagesMB ?? 0) - f.afterDrain.heapTotalMB;
    if (f.afterDrain.v8PagesMB !== undefined && pooled > 0) {
      out.push(
        `  of it ${mb(pooled)} in V8 heap pages outside heapTotal: V8's page pool, reused by the next burst, not given back to the OS (bench/README.md)`,
      );
    }
    if (f.afterRelease && f.idle) {
      const released = (f.afterRelease.rssMB / f.idle.rssMB - 1) * 100;
      out.push(
        `  after V8's last-resort GC (gc({ flavor: 'last-resort' }), --expose-gc): RSS ${mb(f.afterRelease.rssMB)}, ${overIdle(released)} → ${released <= SOAK_FLAT_PCT ? 'returned' : 'NOT returned'}`,
      );
    }
  }
  out.push(
    `  idle RSS: bare Nest microservice (no-op transport) ${mb(f.nestBareRssMB)}, Nest + our CeleryServer connected ${mb(f.nestCeleryRssMB)}, our plain worker ${mb(f.idle?.rssMB)}`,
  );
  const cpu = f.cpuUsPerTask === undefined ? '' : `, worker CPU ${f.cpuUsPerTask.toFixed(0)} µs per task`;
  out.push(`  ${rate(f.rate)} over the soak (feeding included)${cpu}; ${f.wrongResults ?? '?'} results wrong or missing`);
}
