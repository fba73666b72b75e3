/** The bench's output: one readable table on stdout and the same figures as JSON. */
import { writeFileSync } from 'node:fs';
import { config, outPath, type BrokerKind } from './config.js';
import { BROKER_NAMES } from './context.js';
import { STALL_MS, type DrainFigure, type WorkerName } from './drain.scenario.js';
import type { PublishFigure } from './publish.scenario.js';
import { FLAT_TOLERANCE_PCT, WINDOW, type RssFigure } from './rss.scenario.js';
import type { RttFigure } from './rtt.scenario.js';
import type { CpuFigure } from './cpu-pool.scenario.js';
import type { QuorumFigure } from './quorum.scenario.js';
import { cpuSection, quorumSection, soakSection } from './rows-report.js';
import type { SoakFigure } from './soak.scenario.js';
import { median, ratio, round } from './stats.js';

/** Where and when the figures were taken (the report's first line), plus the run's settings. */
export interface BenchMeta {
  date: string;
  cpus: number;
  node: string;
  pythonCelery: string;
  celeryNode: string;
  rabbitmq: string;
  redis: string;
  busyBeforePct: number;
  seconds?: number;
  [setting: string]: unknown;
}

export interface BenchResults {
  meta: BenchMeta;
  drain: DrainFigure[];
  publish: PublishFigure[];
  rtt: RttFigure[];
  rss?: RssFigure;
  quorum?: QuorumFigure;
  cpu?: CpuFigure;
  soak?: SoakFigure;
  ratios: Record<string, { value?: number; target: number; met?: boolean }>;
}

/**
 * Targets from the performance issue (drain with ack after store; per broker where it names one);
 * printed beside the figures, never asserted. oursOverCeiling: ours as a share of the combined
 * ceiling (consume → store → ack with no Celery logic, bench/ceiling.ts).
 */
export const TARGETS = {
  oursOverPython: { amqp: 10, redis: 10 } as Record<BrokerKind, number>,
  oursOverCeleryNode: { amqp: 1.5, redis: 2.5 } as Record<BrokerKind, number>,
  oursOverCeiling: 0.8,
  publishOverPython: 3,
};

/** Figures measured earlier on this kind of machine (2 cores), for orientation. */
export const REFERENCE: Record<BrokerKind, Partial<Record<WorkerName, number>>> = {
  amqp: { python: 1600, 'celery-node': 10900 },
  redis: { python: 1000, 'celery-node': 7300 },
};

/** machine load before the run above which the report warns */
const BUSY_WARNING_PCT = 15;

const WORKER_LABELS: Record<WorkerName, string> = {
  ours: `ours (concurrency ${config.concurrency} = prefetch, ${config.ackMode === 'late' ? 'ack after store' : 'EARLY ack'})`,
  python: 'Python Celery 5.2 worker -P solo, defaults',
  'celery-node': 'celery-node 0.5.9 (acks on receipt)',
  'ceiling:broker': 'CEILING broker alone (raw consume, same prefetch and acks, nothing stored)',
  'ceiling:backend': 'CEILING backend alone (pipelined SETEX + PUBLISH, no broker)',
  'ceiling:both': 'CEILING both, no Celery logic (consume → store → ack)',
};

export const int = (x: number) => Math.round(x).toLocaleString('en-US');
export const rate = (x?: number) => (x === undefined ? '–' : `${int(x)}/s`);
export const pct = (x?: number) => (x === undefined ? '–' : `${int(x)}%`);
export const times = (x?: number) => (x === undefined ? '–' : `${round(x, 2).toFixed(2)}×`);
const ms = (x?: number) => (x === undefined ? '–' : `${round(x, 2).toFixed(2)} ms`);
export const shortError = (e: string) => `error: ${e.split('\n')[0].slice(0, 100)}`;

export function table(rows: string[][], indent = '  '): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map(
      (row) =>
        indent +
        row
          .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}

/** A worker's run with the median rate over the rounds (errors left out), and every round's rate. */
export function medianDrain(drains: DrainFigure[], b: BrokerKind, w: WorkerName): (DrainFigure & { roundRates: number[] }) | undefined {
  const runs = drains.filter((f) => f.broker === b && f.worker === w && !f.error && f.rate !== undefined);
  const mid = median(runs.map((f) => f.rate!));
  const pick = runs.find((f) => f.rate === mid);
  return pick && { ...pick, roundRates: drains.filter((f) => f.broker === b && f.worker === w).map((f) => f.rate ?? NaN) };
}

/**
 * ours / other, dividing our plain rate by the other's rate without its stalls: a pause of
 * the other worker never makes ours look better.
 */
export function computeRatios(r: Pick<BenchResults, 'drain' | 'publish'>): BenchResults['ratios'] {
  const out: BenchResults['ratios'] = {};
  const drainOf = (b: BrokerKind, w: WorkerName) => medianDrain(r.drain, b, w);
  const pubRate = (b: BrokerKind, c: 'ours' | 'python', confirms: boolean) =>
    r.publish.find((f) => f.broker === b && f.client === c && f.confirms === confirms && !f.error)?.rate;
  for (const b of config.brokerKinds) {
    const add = (key: string, value: number | undefined, target: number) =>
      (out[`${key}.${b}`] = { value, target, met: value === undefined ? undefined : value >= target });
    const ours = drainOf(b, 'ours')?.rate;
    const other = (w: WorkerName) => drainOf(b, w)?.rateWithoutStalls ?? drainOf(b, w)?.rate;
    add('drain.oursOverPython', ratio(ours, other('python')), TARGETS.oursOverPython[b]);
    add('drain.oursOverCeleryNode', ratio(ours, other('celery-node')), TARGETS.oursOverCeleryNode[b]);
    add('drain.oursOverCeiling', ratio(ours, drainOf(b, 'ceiling:both')?.rate), TARGETS.oursOverCeiling);
    // like for like: Celery's default (no confirms on RabbitMQ; Redis always has its reply), and
    // on RabbitMQ both with publisher confirms
    const celeryDefault = b !== 'amqp';
    add('publish.oursOverPython', ratio(pubRate(b, 'ours', celeryDefault), pubRate(b, 'python', celeryDefault)), TARGETS.publishOverPython);
    if (b === 'amqp') {
      add('publish.oursOverPython.confirmed', ratio(pubRate(b, 'ours', true), pubRate(b, 'python', true)), TARGETS.publishOverPython);
      out[`publish.oursConfirmedOverPythonDefault.${b}`] = { value: ratio(pubRate(b, 'ours', true), pubRate(b, 'python', false)), target: 0 };
    }
  }
  return out;
}

function ratioRow(r: BenchResults, b: BrokerKind, key: string, label: string): string[] {
  const x = r.ratios[`${key}.${b}`];
  const value = x?.value === undefined ? '–' : times(x.value);
  const verdict = x?.value === undefined ? '' : x.met ? 'met' : 'NOT met';
  return [BROKER_NAMES[b], label, value, `target ≥ ${x?.target ?? '?'}×`, verdict];
}

function drainSection(r: BenchResults, out: string[]): void {
  const brokers = config.brokerKinds;
  out.push('');
  out.push('1. Worker throughput: drain rate of N tasks preloaded (publisher confirms) on a fresh queue, one worker on it');
  out.push(`   ${config.rounds} round(s), the workers interleaved in each; each row is the worker's median round, the ratios divide medians.`);
  out.push('   rate = (N − 1) / (last − first result stored); a result is "stored" when the backend\'s PUBLISH on');
  out.push('   celery-task-meta-<id> reaches a PSUBSCRIBE in the bench process (nothing extra for the worker to do).');
  out.push("   µs/task = the worker process's CPU time per task; cpu columns = % of one core (machine: % of all cores),");
  out.push(`   all over that same window. A pause ≥ ${STALL_MS} ms between two results is reported as a stall.`);
  const rows: string[][] = [['broker', 'worker', 'drain rate', 'µs/task', 'worker', 'rabbitmq', 'redis', 'bench', 'machine', 'note']];
  for (const b of brokers) {
    for (const w of [...(config.workers as WorkerName[]), 'ceiling:broker', 'ceiling:backend', 'ceiling:both'] as WorkerName[]) {
      const failed = r.drain.filter((x) => x.broker === b && x.worker === w && x.error);
      const f = medianDrain(r.drain, b, w);
      if (!f) {
        if (failed.length) rows.push([BROKER_NAMES[b], WORKER_LABELS[w], shortError(failed[0].error!)]);
        continue;
      }
      const notes: string[] = [];
      if (f.roundRates.length > 1) notes.push(`rounds ${f.roundRates.map((x) => (Number.isNaN(x) ? 'failed' : int(x))).join(' / ')}`);
      if ((f.stalledMs ?? 0) > 0)
        notes.push(
          `stalled ${round((f.stalledMs ?? 0) / 1000, 1)} s (longest ${round((f.maxGapMs ?? 0) / 1000, 1)} s); ${rate(f.rateWithoutStalls)} without stalls`,
        );
      if (f.wrongResults) notes.push(`${f.wrongResults} results WRONG or missing`);
      if (f.consumers != null && f.consumers !== 1) notes.push(`${f.consumers} consumers on the queue while draining (expected 1)`);
      const cpu = f.serverCpuPct ?? {};
      rows.push([
        BROKER_NAMES[b],
        WORKER_LABELS[w],
        rate(f.rate),
        f.workerCpuUsPerTask === undefined ? '–' : int(f.workerCpuUsPerTask),
        pct(f.workerCpuPct),
        pct(cpu.rabbitmq),
        pct(cpu.redis),
        pct(f.observerCpuPct),
        pct(f.machineBusyPct),
        notes.join('; '),
      ]);
    }
  }
  out.push(table(rows));
  out.push('');
  out.push("   ratios (our rate over the other's rate without its stalls, so a stall of theirs never flatters ours):");
  const ratios: string[][] = [];
  for (const b of brokers) {
    ratios.push(ratioRow(r, b, 'drain.oursOverPython', 'ours / Python Celery'));
    ratios.push(ratioRow(r, b, 'drain.oursOverCeleryNode', 'ours / celery-node'));
    ratios.push(ratioRow(r, b, 'drain.oursOverCeiling', 'ours / CEILING both (share of what broker + backend allow)'));
  }
  out.push(table(ratios));
  out.push('');
  out.push(
    `   for orientation, figures measured earlier on this kind of machine: ${brokers.map((b) => `${BROKER_NAMES[b]} Python ${rate(REFERENCE[b].python)}, celery-node ${rate(REFERENCE[b]['celery-node'])}`).join('; ')}`,
  );
  const preloads = brokers.map((b) => `${BROKER_NAMES[b]} ${rate(r.drain.find((f) => f.broker === b && f.preloadRate)?.preloadRate)}`).join(', ');
  out.push(`   our client while preloading (no result backend, ${config.inflight} sends in flight): ${preloads}`);
}

function publishSection(r: BenchResults, out: string[]): void {
  const brokers = config.brokerKinds;
  const get = (b: BrokerKind, c: 'ours' | 'python', confirms: boolean) => r.publish.find((f) => f.broker === b && f.client === c && f.confirms === confirms);
  const cell = (f?: PublishFigure) => (!f ? '(not run)' : f.error ? shortError(f.error) : rate(f.rate));
  out.push('');
  out.push('2. Client publish rate: N sends to a queue nobody consumes, Redis result backend (each send subscribes to its result first)');
  out.push(`   ours: sendTask with ${config.inflight} in flight; Python: add.delay() in a loop. On RabbitMQ like for like, without publisher`);
  out.push("   confirms (Celery's default confirm_publish off; ours with confirmPublish: false) and with them (our default; Python");
  out.push('   with broker_transport_options confirm_publish=True). On Redis the LPUSH reply is the confirm for both.');
  const rows: string[][] = [['broker', 'publisher confirms', 'ours', 'Python', 'ours / Python', 'target', '']];
  for (const b of brokers) {
    const variants: [boolean, string, string][] =
      b === 'amqp'
        ? [
            [false, 'off (Celery default)', 'publish.oursOverPython'],
            [true, 'on (our default)', 'publish.oursOverPython.confirmed'],
          ]
        : [[true, 'LPUSH reply', 'publish.oursOverPython']];
    for (const [confirms, label, key] of variants) {
      const x = r.ratios[`${key}.${b}`];
      rows.push([
        BROKER_NAMES[b],
        label,
        cell(get(b, 'ours', confirms)),
        cell(get(b, 'python', confirms)),
        times(x?.value),
        `≥ ${TARGETS.publishOverPython}×`,
        x?.value === undefined ? '' : x.met ? 'met' : 'NOT met',
      ]);
    }
  }
  out.push(table(rows));
  for (const b of brokers) {
    const ceiling = r.publish.find((f) => f.broker === b && f.client === 'ceiling');
    if (!ceiling) continue;
    const ours = get(b, 'ours', true)?.rate;
    const share = ours !== undefined && ceiling.rate ? (100 * ours) / ceiling.rate : undefined;
    out.push(`   CEILING ${BROKER_NAMES[b]} publish alone (confirmed, no Celery logic): ${cell(ceiling)}; ours with confirms at ${pct(share)} of it`);
  }
  const mixed = r.ratios['publish.oursConfirmedOverPythonDefault.amqp']?.value;
  if (mixed !== undefined) out.push(`   for reference, RabbitMQ ours with confirms over Python without: ${times(mixed)} (our guarantee is stronger there)`);
}

function rttSection(r: BenchResults, out: string[]): void {
  const brokers = config.brokerKinds;
  out.push('');
  out.push(`3. Round trip of one task at a time (send → result in hand), ${config.rttN} tasks after 20 warm-ups`);
  const rows: string[][] = [['broker', 'client + worker', 'p50', 'p99', 'mean']];
  for (const b of brokers) {
    for (const [pair, label] of [
      ['ours', 'our client + our worker'],
      ['python', 'Python client + Python worker (-P solo)'],
    ] as const) {
      const f = r.rtt.find((x) => x.broker === b && x.pair === pair);
      if (!f) continue;
      rows.push(f.error ? [BROKER_NAMES[b], label, shortError(f.error)] : [BROKER_NAMES[b], label, ms(f.p50Ms), ms(f.p99Ms), ms(f.meanMs)]);
    }
  }
  out.push(table(rows));
}

function rssSection(f: RssFigure, out: string[]): void {
  out.push('');
  out.push(
    `4. Our worker's memory over ${f.tasks.toLocaleString('en-US')} tasks (${BROKER_NAMES[f.broker as BrokerKind]} broker), sampled every ${config.rssEvery.toLocaleString('en-US')} completions after a full GC`,
  );
  if (f.error) out.push(`  ${shortError(f.error)}`);
  out.push(
    table([
      ['tasks', 'RSS', 'V8 heap reserved', 'heap used'],
      ...f.samples.map((s) => [int(s.tasks), `${s.rssMB.toFixed(1)} MB`, `${s.heapTotalMB.toFixed(1)} MB`, `${s.heapUsedMB.toFixed(1)} MB`]),
    ]),
  );
  if (f.growthPct !== undefined) {
    const sign = f.growthPct >= 0 ? '+' : '';
    const hsign = (f.heapGrowthPct ?? 0) >= 0 ? '+' : '';
    out.push(
      `  mean of the last ${WINDOW} samples vs the ${WINDOW} from ${int(2 * config.rssEvery)}: RSS ${sign}${f.growthPct.toFixed(1)} %, heap ${hsign}${(f.heapGrowthPct ?? 0).toFixed(1)} % → ${f.flat ? 'flat' : 'GROWING'} (target: flat; flat = neither grew more than ${FLAT_TOLERANCE_PCT} %)`,
    );
    out.push(`  drain rate over the run: ${rate(f.rate)}`);
  }
}

export function render(r: BenchResults): string {
  const out: string[] = [];
  const m = r.meta;
  out.push(
    `nestjs-celery bench — ${m.date}, ${m.cpus} CPUs, Node ${m.node}, Python Celery ${m.pythonCelery}, celery-node ${m.celeryNode}, RabbitMQ ${m.rabbitmq}, Redis ${m.redis}`,
  );
  out.push(`task bench.add(x, y) = x + y; result backend: Redis; N = ${config.n.toLocaleString('en-US')} tasks per drain and per publish run`);
  if (m.busyBeforePct >= BUSY_WARNING_PCT) {
    out.push(`WARNING: the machine was ${m.busyBeforePct}% busy before the bench started (other processes): expect noisy figures`);
  }
  if (r.drain.length) drainSection(r, out);
  if (r.publish.length) publishSection(r, out);
  if (r.rtt.length) rttSection(r, out);
  if (r.rss) rssSection(r.rss, out);
  if (r.quorum) quorumSection(r.quorum, out);
  if (r.cpu) cpuSection(r.cpu, out);
  if (r.soak) soakSection(r.soak, out);
  return out.join('\n');
}

export function writeJson(r: BenchResults): string {
  const path = outPath('results.json');
  writeFileSync(path, JSON.stringify(r, null, 2) + '\n');
  return path;
}
