/** The bench's output: one readable table on stdout and the same figures as JSON. */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { config, outPath, ROOT, type BrokerKind } from './config.js';
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
  cpuModel?: string;
  ramGB?: number;
  kernel?: string;
  /** 1, 5 and 15-minute load averages when the run started and when it ended */
  loadAvgStart?: number[];
  loadAvgEnd?: number[];
  /** the bench's own Node (the main rows) */
  node: string;
  /** the other Node majors of BENCH_NODES: version, or why it is missing */
  nodes?: Record<string, string>;
  /** Celery 5.5 and 5.6 peers (quorum rows): version, or why not */
  pythonCeleryPeers?: Record<string, string>;
  /** BENCH_SHORT: tiny sizes, results checked, timings meaningless */
  short?: boolean;
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
  ratios: Record<string, Ratio>;
}

/**
 * A figure against its target: met when value ≥ target, or ≤ it with atMost (a CPU time or a
 * latency); unit: × (a ratio, the default), µs or ms.
 */
export interface Ratio {
  value?: number;
  target: number;
  met?: boolean;
  atMost?: boolean;
  unit?: '×' | 'µs' | 'ms';
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
  /** our worker's CPU time per task in the drain, at most (µs) */
  oursCpuUsPerTask: 40,
  /** round trip p50 of ours, at most (ms on loopback), and at most Python's (ours / Python ≤ 1) */
  rttP50Ms: 1,
  rttOverPython: 1,
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

/** Our rows on another Node than `node` (the bench's own by default) are not that run's: the per-version rows. */
const onNode = (f: { node?: string }, node: string) => f.node === undefined || f.node === node;

/**
 * A worker's run with the median rate over the rounds (errors left out), and every round's rate;
 * ours on `node` (default: the bench's own Node).
 */
export function medianDrain(
  drains: DrainFigure[],
  b: BrokerKind,
  w: WorkerName,
  node: string = process.version,
): (DrainFigure & { roundRates: number[] }) | undefined {
  const mine = drains.filter((f) => f.broker === b && f.worker === w && onNode(f, node));
  const runs = mine.filter((f) => !f.error && f.rate !== undefined);
  const mid = median(runs.map((f) => f.rate!));
  const pick = runs.find((f) => f.rate === mid);
  return pick && { ...pick, roundRates: mine.map((f) => f.rate ?? NaN) };
}

/** Publisher confirms at Celery's default: off on RabbitMQ (confirm_publish), the LPUSH reply on Redis. */
export const celeryDefaultConfirms = (b: BrokerKind): boolean => b !== 'amqp';

/**
 * our client + worker's round trip on `node` (default: the bench's own), or Python's, with or
 * without publisher confirms (default: Celery's default, where the target is read)
 */
export function rttOf(
  r: Pick<BenchResults, 'rtt'>,
  b: BrokerKind,
  pair: RttFigure['pair'],
  node: string = process.version,
  confirms = celeryDefaultConfirms(b),
): RttFigure | undefined {
  // figures from before the confirms column (older JSON) were all confirmed
  return r.rtt.find((f) => f.broker === b && f.pair === pair && onNode(f, node) && (f.confirms ?? true) === confirms);
}

/** The drain targets over other workers: the ratio's key, the other worker, its name in the report and what the report says of it beside a target out of reach. */
const OVER_OTHERS = [
  { key: 'drain.oursOverPython', other: 'python', name: 'Python', targets: TARGETS.oursOverPython, aside: '' },
  { key: 'drain.oursOverCeleryNode', other: 'celery-node', name: 'celery-node', targets: TARGETS.oursOverCeleryNode, aside: ' (celery-node acks on receipt)' },
] as const;

/**
 * ours / other, dividing our plain rate by the other's rate without its stalls: a pause of
 * the other worker never makes ours look better.
 */
export function computeRatios(r: Pick<BenchResults, 'drain' | 'publish' | 'rtt'>): BenchResults['ratios'] {
  const out: BenchResults['ratios'] = {};
  const drainOf = (b: BrokerKind, w: WorkerName) => medianDrain(r.drain, b, w);
  const pubRate = (b: BrokerKind, c: 'ours' | 'python', confirms: boolean) =>
    r.publish.find((f) => f.broker === b && f.client === c && f.confirms === confirms && !f.error)?.rate;
  for (const b of config.brokerKinds) {
    const add = (key: string, value: number | undefined, target: number, more: Pick<Ratio, 'atMost' | 'unit'> = {}) =>
      (out[`${key}.${b}`] = { value, target, met: value === undefined ? undefined : more.atMost ? value <= target : value >= target, ...more });
    const ours = drainOf(b, 'ours')?.rate;
    const other = (w: WorkerName) => drainOf(b, w)?.rateWithoutStalls ?? drainOf(b, w)?.rate;
    for (const o of OVER_OTHERS) add(o.key, ratio(ours, other(o.other)), o.targets[b]);
    add('drain.oursOverCeiling', ratio(ours, drainOf(b, 'ceiling:both')?.rate), TARGETS.oursOverCeiling);
    add('drain.oursCpuUsPerTask', drainOf(b, 'ours')?.workerCpuUsPerTask, TARGETS.oursCpuUsPerTask, { atMost: true, unit: 'µs' });
    const p50 = (pair: RttFigure['pair']) => (rttOf(r, b, pair)?.error ? undefined : rttOf(r, b, pair)?.p50Ms);
    add('rtt.oursP50', p50('ours'), TARGETS.rttP50Ms, { atMost: true, unit: 'ms' });
    add('rtt.oursOverPythonP50', ratio(p50('ours'), p50('python')), TARGETS.rttOverPython, { atMost: true });
    // no target: how far above the floor (the same hops with no Celery logic) our round trip is
    out[`rtt.oursOverCeilingP50.${b}`] = { value: ratio(p50('ours'), p50('ceiling')), target: 0 };
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

/** a figure in its unit (× by default) */
export function inUnit(value: number | undefined, unit: Ratio['unit'] = '×'): string {
  if (value === undefined) return '–';
  return unit === '×' ? times(value) : unit === 'ms' ? ms(value) : `${int(value)} µs`;
}

/** "target ≥ 1.5×" or "target ≤ 40 µs" */
export function targetText(x: Ratio | undefined): string {
  if (!x) return 'target ?';
  const unit = x.unit ?? '×';
  return `target ${x.atMost ? '≤' : '≥'} ${x.target}${unit === '×' ? '×' : ` ${unit}`}`;
}

export const verdictText = (x?: Ratio) => (x?.value === undefined ? 'not measured' : x.met ? 'met' : 'NOT met');

function ratioRow(r: BenchResults, b: BrokerKind, key: string, label: string): string[] {
  const x = r.ratios[`${key}.${b}`];
  return [BROKER_NAMES[b], label, inUnit(x?.value, x?.unit), targetText(x), verdictText(x)];
}

function drainSection(r: BenchResults, out: string[]): void {
  const brokers = config.brokerKinds;
  out.push('');
  out.push('1. Worker throughput: drain rate of N tasks preloaded (publisher confirms) on a fresh queue, one worker on it');
  out.push(
    `   each worker first runs ${config.warmup.toLocaleString('en-US')} untimed warm-up tasks queued ahead of the N (BENCH_WARMUP; a fresh Node process runs its first thousands of tasks in unoptimised code, and its first second or so growing its heap)`,
  );
  out.push(`   ${config.rounds} round(s), the workers interleaved in each; each row is the worker's median round, the ratios divide medians.`);
  out.push('   rate = (N − 1) / (last − first result stored); a result is "stored" when the backend\'s PUBLISH on');
  out.push('   celery-task-meta-<id> reaches a PSUBSCRIBE in the bench process (nothing extra for the worker to do).');
  out.push("   µs/task = the worker process's CPU time per task; cpu columns = % of one core (machine: % of all cores),");
  out.push(`   all over that same window. A pause ≥ ${STALL_MS} ms between two results is reported as a stall.`);
  const rows: string[][] = [['broker', 'worker', 'drain rate', 'µs/task', 'worker', 'rabbitmq', 'redis', 'bench', 'machine', 'note']];
  for (const b of brokers) {
    for (const w of [...config.workers, 'ceiling:broker', 'ceiling:backend', 'ceiling:both'] as WorkerName[]) {
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
    ratios.push(ratioRow(r, b, 'drain.oursCpuUsPerTask', "our worker's CPU time per task"));
  }
  out.push(table(ratios));
  for (const b of brokers) out.push(...targetAsks(r, b));
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
  out.push(`3. Round trip of one task at a time (send → result in hand), ${config.rttN} tasks after ${config.rttWarmup.toLocaleString('en-US')} untimed ones`);
  out.push('   (BENCH_RTT_WARMUP: client and worker run warm, as in a service; each pair gets the same). On RabbitMQ without publisher');
  out.push("   confirms (Celery's default, where the targets are read) and with them (our default; Python with confirm_publish=True):");
  out.push("   a confirmed send of a persistent message waits for RabbitMQ's fsync.");
  const rows: string[][] = [['broker', 'publisher confirms', 'client + worker', 'p50', 'p99', 'mean']];
  const ratios: string[][] = [];
  for (const b of brokers) {
    for (const confirms of b === 'amqp' ? [false, true] : [true]) {
      const confirmLabel = b !== 'amqp' ? '(LPUSH reply)' : confirms ? 'on (our default)' : "off (Celery's default)";
      for (const [pair, label] of [
        ['ours', 'our client + our worker'],
        ['python', 'Python client + Python worker (-P solo)'],
        ['ceiling', 'FLOOR: raw client + raw consumer, no Celery logic'],
      ] as const) {
        const f = rttOf(r, b, pair, process.version, confirms);
        if (!f) continue;
        rows.push(
          f.error
            ? [BROKER_NAMES[b], confirmLabel, label, shortError(f.error)]
            : [BROKER_NAMES[b], confirmLabel, label, ms(f.p50Ms), ms(f.p99Ms), ms(f.meanMs)],
        );
      }
    }
    ratios.push(ratioRow(r, b, 'rtt.oursP50', 'our p50'));
    ratios.push(ratioRow(r, b, 'rtt.oursOverPythonP50', 'our p50 / Python p50 (below Python)'));
  }
  out.push(table(rows));
  out.push('');
  out.push(table(ratios));
  for (const b of brokers) {
    const floor = rttOf(r, b, 'ceiling');
    const over = r.ratios[`rtt.oursOverCeilingP50.${b}`]?.value;
    if (floor?.p50Ms === undefined || over === undefined) continue;
    const above = (rttOf(r, b, 'ours')?.p50Ms ?? NaN) - floor.p50Ms;
    const left = TARGETS.rttP50Ms - floor.p50Ms;
    out.push(
      `   FLOOR ${BROKER_NAMES[b]}: ${ms(floor.p50Ms)} p50 with no Celery logic; ours is ${times(over)} of it (${above < 0 ? '−' : '+'}${ms(Math.abs(above))}); ` +
        (left > 0
          ? `≤ ${ms(TARGETS.rttP50Ms)} leaves our code ${ms(left)} on this machine`
          : `the floor alone is above ${ms(TARGETS.rttP50Ms)} on this machine`),
    );
  }
}

/**
 * Our worker per Node major (BENCH_NODES): the bench's own Node and each other one, its drain
 * rate (median of the rounds), CPU time per task and round trip p50 per broker.
 */
function nodeSection(r: BenchResults, out: string[]): void {
  const versions = [...new Set([...r.drain, ...r.rtt].flatMap((f) => (f.node ? [f.node] : [])))];
  if (versions.length < 2 && !Object.keys(r.meta.nodes ?? {}).length) return;
  out.push('');
  out.push('1b. Our worker (and, for the round trip, our client) per Node version: drain as in 1., round trip as in 3.');
  const rows: string[][] = [['broker', 'Node', 'drain rate', 'µs/task', 'round trip p50', '', 'rounds']];
  for (const b of config.brokerKinds) {
    const best = Math.max(...versions.map((v) => medianDrain(r.drain, b, 'ours', v)?.rate ?? 0));
    for (const v of versions) {
      const f = medianDrain(r.drain, b, 'ours', v);
      const failed = r.drain.find((x) => x.broker === b && x.worker === 'ours' && x.node === v && x.error);
      const rtt = rttOf(r, b, 'ours', v);
      rows.push([
        BROKER_NAMES[b],
        `${v}${v === r.meta.node ? " (the bench's own)" : ''}`,
        f ? rate(f.rate) : failed ? shortError(failed.error!) : '–',
        f?.workerCpuUsPerTask === undefined ? '–' : int(f.workerCpuUsPerTask),
        rtt?.error ? shortError(rtt.error) : ms(rtt?.p50Ms),
        f?.rate !== undefined && f.rate === best && versions.length > 1 ? 'best drain' : '',
        f && f.roundRates.length > 1 ? f.roundRates.map((x) => (Number.isNaN(x) ? 'failed' : int(x))).join(' / ') : '',
      ]);
    }
  }
  out.push(table(rows));
  for (const [major, why] of Object.entries(r.meta.nodes ?? {})) if (!why.startsWith('v')) out.push(`   Node ${major}: ${why}`);
}

/**
 * What a target over another worker asks of the machine: `target` × the other's rate as a share of
 * a ceiling, by default the combined one (consume → store → ack with no Celery logic). Above 1,
 * meeting it means running faster than broker + backend allow here without any Celery work,
 * whatever our worker does; above the broker-alone ceiling, faster than the broker delivers with
 * nothing stored at all.
 */
export function ceilingShareNeeded(
  r: Pick<BenchResults, 'drain'>,
  b: BrokerKind,
  other: WorkerName,
  target: number,
  of: 'ceiling:both' | 'ceiling:broker' = 'ceiling:both',
): number | undefined {
  const theirs = medianDrain(r.drain, b, other);
  const ceiling = medianDrain(r.drain, b, of)?.rate;
  const rate = theirs?.rateWithoutStalls ?? theirs?.rate;
  return rate === undefined || !ceiling ? undefined : (target * rate) / ceiling;
}

/**
 * For each drain target over another worker that the run did not meet: what it asks as a share of
 * the combined ceiling, beside the share ours ran at, so a reader sees whether the miss is our
 * worker's or the machine's. Above 1 it also says so in words, and gives the broker-alone share.
 */
export function targetAsks(r: Pick<BenchResults, 'drain' | 'ratios'>, b: BrokerKind): string[] {
  const lines: string[] = [];
  for (const { key, other, name, aside } of OVER_OTHERS) {
    const judged = r.ratios[`${key}.${b}`];
    if (judged?.met !== false) continue;
    const target = judged.target;
    const needed = ceilingShareNeeded(r, b, other, target);
    if (needed === undefined) continue;
    const ours = r.ratios[`drain.oursOverCeiling.${b}`]?.value;
    let line = `   ${BROKER_NAMES[b]}: ≥ ${target}× ${name} needs ${times(needed)} the CEILING both (ours ran at ${times(ours)})`;
    if (needed > 1) {
      const ofBroker = ceilingShareNeeded(r, b, other, target, 'ceiling:broker');
      line +=
        `: faster than broker + backend with no Celery logic at all${aside}` +
        (ofBroker === undefined ? '' : `; it is ${times(ofBroker)} the CEILING broker alone, where nothing is decoded or stored`);
    }
    lines.push(line);
  }
  return lines;
}

/** Every target of the run in one list: met, NOT met, or not measured. */
export function allTargets(r: BenchResults): { key: string; ratio: Ratio }[] {
  const list = Object.entries(r.ratios).filter(([, x]) => x.target !== 0);
  for (const [prefix, ratios] of [
    ['quorum', r.quorum?.ratios],
    ['cpu', r.cpu?.ratios],
  ] as const)
    for (const [k, x] of Object.entries(ratios ?? {})) list.push([`${prefix}.${k}`, x]);
  if (r.rss) list.push(['rss.flat', { value: r.rss.flat === undefined ? undefined : 1, target: 1, met: r.rss.flat }]);
  if (r.soak) list.push(['soak.flat', { value: r.soak.flat === undefined ? undefined : 1, target: 1, met: r.soak.flat }]);
  // returned: RSS after the drain within 10 % of idle (V8's page pool keeps it up: bench/README.md)
  if (r.soak) list.push(['soak.returned', { value: r.soak.returned === undefined ? undefined : 1, target: 1, met: r.soak.returned }]);
  return list.map(([key, ratio]) => ({ key, ratio }));
}

function targetsSummary(r: BenchResults, out: string[]): void {
  const list = allTargets(r);
  const count = (v: string) => list.filter((t) => verdictText(t.ratio) === v).length;
  out.push('');
  out.push(
    `Targets: ${count('met')} met, ${count('NOT met')} NOT met, ${count('not measured')} not measured (of ${list.length}; a part not run or failed measures none)`,
  );
  const missed = list.filter((t) => verdictText(t.ratio) === 'NOT met');
  if (missed.length)
    out.push(
      `   NOT met: ${missed.map((t) => `${t.key}${t.ratio.value === undefined || /\.(flat|returned)$/.test(t.key) ? '' : ` (${inUnit(t.ratio.value, t.ratio.unit)})`}`).join('; ')}`,
    );
}

/**
 * The lowest Node the package supports (package.json `engines.node`, ">=x.y.z"), when `version`
 * is below it: figures of an unsupported runtime say so in their header.
 */
export function belowEngines(version: string, engines: string): string | undefined {
  const need = />=\s*(\d+)\.(\d+)\.(\d+)/.exec(engines);
  const have = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!need || !have) return undefined;
  for (let i = 1; i <= 3; i++) {
    if (Number(have[i]) !== Number(need[i])) return Number(have[i]) < Number(need[i]) ? engines : undefined;
  }
  return undefined;
}

export const ENGINES: string = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines?: { node?: string } }).engines?.node ?? '';

/** The machine and every version the figures depend on (two runs are comparable only when these match). */
function machineLines(m: BenchMeta): string[] {
  const load = (l?: number[]) => (l ? l.map((x) => x.toFixed(2)).join(' / ') : '?');
  const others = Object.entries(m.nodes ?? {}).map(([major, v]) => `${major}: ${v.split('\n')[0].slice(0, 80)}`);
  const peers = Object.entries(m.pythonCeleryPeers ?? {}).map(([k, v]) => `${k.replace('python-', '')}: ${v.slice(0, 60)}`);
  return [
    `machine: ${m.cpuModel ?? '?'}, ${m.cpus} cores, ${m.ramGB ?? '?'} GB RAM, Linux ${m.kernel ?? '?'}`,
    `load average (1/5/15 min): ${load(m.loadAvgStart)} at the start, ${load(m.loadAvgEnd)} at the end; ${m.busyBeforePct}% busy in the second before`,
    `Node ${m.node} (the bench and the main rows${belowEngines(m.node, ENGINES) ? `; BELOW package.json's engines ${ENGINES}: not a supported runtime` : ''})${others.length ? `; our worker also on ${others.join(', ')}` : ''}`,
    `Python Celery ${m.pythonCelery}${peers.length ? ` (quorum peers ${peers.join(', ')})` : ''}; celery-node ${m.celeryNode}; RabbitMQ ${m.rabbitmq}; Redis ${m.redis}`,
  ];
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
    out.push(`  drain rate over the run: ${rate(f.rate)}; ${f.wrongResults ?? '?'} results wrong or missing`);
  }
}

export function render(r: BenchResults): string {
  const out: string[] = [];
  const m = r.meta;
  out.push(`nestjs-celery bench — ${m.date}${m.short ? ' — SHORT MODE (tiny sizes: results checked, the timings mean nothing)' : ''}`);
  out.push(...machineLines(m));
  out.push(`task bench.add(x, y) = x + y; result backend: Redis; N = ${config.n.toLocaleString('en-US')} tasks per drain and per publish run`);
  if (m.busyBeforePct >= BUSY_WARNING_PCT) {
    out.push(`WARNING: the machine was ${m.busyBeforePct}% busy before the bench started (other processes): expect noisy figures`);
  }
  if (r.drain.length) drainSection(r, out);
  nodeSection(r, out);
  if (r.publish.length) publishSection(r, out);
  if (r.rtt.length) rttSection(r, out);
  if (r.rss) rssSection(r.rss, out);
  if (r.quorum) quorumSection(r.quorum, out);
  if (r.cpu) cpuSection(r.cpu, out);
  if (r.soak) soakSection(r.soak, out);
  targetsSummary(r, out);
  return out.join('\n');
}

/** .bench/results/<start time>.json (for bench/compare.ts), copied to .bench/results.json (the latest). */
export function writeJson(r: BenchResults): string {
  const path = outPath('results', `${r.meta.date.replace(/:/g, '-')}.json`);
  writeFileSync(path, JSON.stringify(r, null, 2) + '\n');
  copyFileSync(path, outPath('results.json'));
  return path;
}
