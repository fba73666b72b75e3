/** The bench's output: one readable table on stdout and the same figures as JSON. */
import { writeFileSync } from 'node:fs';
import { config, outPath, type BrokerKind } from './config.js';
import { BROKER_NAMES } from './context.js';
import type { DrainFigure, WorkerName } from './drain.scenario.js';
import type { PublishFigure } from './publish.scenario.js';
import { FLAT_TOLERANCE_PCT, type RssFigure } from './rss.scenario.js';
import type { RttFigure } from './rtt.scenario.js';
import { ratio, round } from './stats.js';

export interface BenchResults {
  meta: Record<string, unknown>;
  drain: DrainFigure[];
  publish: PublishFigure[];
  rtt: RttFigure[];
  rss?: RssFigure;
  ratios: Record<string, { value?: number; target: number; met?: boolean }>;
}

/** Targets from the issue; printed beside the figures, never asserted. */
export const TARGETS = { oursOverPython: 6, oursOverCeleryNode: 1, publishOverPython: 3 };

/** Figures measured earlier on this kind of machine (2 cores), for orientation. */
export const REFERENCE: Record<BrokerKind, Partial<Record<WorkerName, number>>> = {
  amqp: { python: 1600, 'celery-node': 10900 },
  redis: { python: 1000, 'celery-node': 7300 },
};

/** a pause between two results at least this long is printed beside the drain rate */
const STALL_NOTE_MS = 250;

const int = (x: number) => Math.round(x).toLocaleString('en-US');
const rate = (x?: number) => (x === undefined ? '–' : `${int(x)}/s`);
const times = (x?: number) => (x === undefined ? '–' : `${round(x, 2).toFixed(2)}×`);
const ms = (x?: number) => (x === undefined ? '–' : `${round(x, 2).toFixed(2)} ms`);
const verdict = (value: number | undefined, target: number) => (value === undefined ? '' : value >= target ? 'met' : 'NOT met');
const shortError = (e: string) => `error: ${e.split('\n')[0].slice(0, 70)}`;

function table(rows: string[][], indent = '  '): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('   ').trimEnd()).join('\n');
}

export function computeRatios(r: Pick<BenchResults, 'drain' | 'publish'>): BenchResults['ratios'] {
  const out: BenchResults['ratios'] = {};
  const drainRate = (b: BrokerKind, w: WorkerName) => r.drain.find((f) => f.broker === b && f.worker === w)?.rate;
  const pubRate = (b: BrokerKind, c: 'ours' | 'python') => r.publish.find((f) => f.broker === b && f.client === c)?.rate;
  for (const b of config.brokerKinds) {
    const add = (key: string, value: number | undefined, target: number) =>
      (out[`${key}.${b}`] = { value, target, met: value === undefined ? undefined : value >= target });
    add('drain.oursOverPython', ratio(drainRate(b, 'ours'), drainRate(b, 'python')), TARGETS.oursOverPython);
    add('drain.oursOverCeleryNode', ratio(drainRate(b, 'ours'), drainRate(b, 'celery-node')), TARGETS.oursOverCeleryNode);
    add('publish.oursOverPython', ratio(pubRate(b, 'ours'), pubRate(b, 'python')), TARGETS.publishOverPython);
  }
  return out;
}

function drainCell(f?: DrainFigure): string {
  if (!f) return '(not run)';
  if (f.error) return shortError(f.error);
  const cpu = f.workerCpuPct === undefined ? '' : `  cpu ${int(f.workerCpuPct)}%/${int(f.machineBusyPct ?? 0)}%`;
  const wrong = f.wrongResults ? `  ${f.wrongResults} WRONG` : '';
  const stall = (f.maxGapMs ?? 0) >= STALL_NOTE_MS ? `  stalled ${round((f.maxGapMs ?? 0) / 1000, 1)} s` : '';
  return `${rate(f.rate)}${cpu}${stall}${wrong}`;
}

export function render(r: BenchResults): string {
  const brokers = config.brokerKinds;
  const head = ['', ...brokers.map((b) => BROKER_NAMES[b])];
  const out: string[] = [];
  const m = r.meta;
  out.push(`nestjs-celery bench — ${m.date}, ${m.cpus} CPUs, Node ${m.node}, Python Celery ${m.pythonCelery}, celery-node ${m.celeryNode}, RabbitMQ ${m.rabbitmq}, Redis ${m.redis}`);
  out.push(`task bench.add(x, y) = x + y; result backend: Redis; N = ${config.n.toLocaleString('en-US')} tasks per drain and per publish run`);

  if (r.drain.length) {
    const get = (b: BrokerKind, w: WorkerName) => r.drain.find((f) => f.broker === b && f.worker === w);
    const ratioCell = (key: string, b: BrokerKind) => {
      const x = r.ratios[`${key}.${b}`];
      return x?.value === undefined ? '–' : `${times(x.value)} (${verdict(x.value, x.target)})`;
    };
    out.push('');
    out.push('1. Worker throughput: drain rate of N tasks preloaded (publisher confirms) on a fresh queue, one worker on it');
    out.push('   rate = (N − 1) / (last − first result stored); "stored" = the backend\'s PUBLISH on celery-task-meta-<id> reaching a');
    out.push('   PSUBSCRIBE in the bench process (no extra work for the worker); cpu = worker process / whole machine in that window;');
    out.push(`   "stalled" = the longest pause between two results when ≥ ${STALL_NOTE_MS} ms`);
    out.push(
      table([
        head,
        [`ours (concurrency ${config.concurrency} = prefetch, ack after store)`, ...brokers.map((b) => drainCell(get(b, 'ours')))],
        ['Python Celery 5.2 worker -P solo (defaults)', ...brokers.map((b) => drainCell(get(b, 'python')))],
        ['celery-node 0.5.9 (acks on receipt, no prefetch limit)', ...brokers.map((b) => drainCell(get(b, 'celery-node')))],
        [`ours / Python          target ≥ ${TARGETS.oursOverPython}×`, ...brokers.map((b) => ratioCell('drain.oursOverPython', b))],
        [`ours / celery-node     target ≥ ${TARGETS.oursOverCeleryNode}×`, ...brokers.map((b) => ratioCell('drain.oursOverCeleryNode', b))],
        ['reference, earlier run: Python / celery-node', ...brokers.map((b) => `${rate(REFERENCE[b].python)} / ${rate(REFERENCE[b]['celery-node'])}`)],
        ['our client while preloading (no result backend)', ...brokers.map((b) => rate(get(b, 'ours')?.preloadRate))],
      ]),
    );
  }

  if (r.publish.length) {
    const get = (b: BrokerKind, c: 'ours' | 'python') => r.publish.find((f) => f.broker === b && f.client === c);
    const cell = (f?: PublishFigure) => (!f ? '(not run)' : f.error ? shortError(f.error) : rate(f.rate));
    out.push('');
    out.push('2. Client publish rate: N sends to an unconsumed queue, Redis result backend (each send subscribes to its result first)');
    out.push(
      table([
        head,
        [`ours: sendTask, ${config.inflight} in flight, resolves on publisher confirm`, ...brokers.map((b) => cell(get(b, 'ours')))],
        ['Python: add.delay() loop (Celery default: no confirms)', ...brokers.map((b) => cell(get(b, 'python')))],
        [`ours / Python          target ≥ ${TARGETS.publishOverPython}×`, ...brokers.map((b) => {
          const x = r.ratios[`publish.oursOverPython.${b}`];
          return x?.value === undefined ? '–' : `${times(x.value)} (${verdict(x.value, x.target)})`;
        })],
      ]),
    );
  }

  if (r.rtt.length) {
    const get = (b: BrokerKind, p: 'ours' | 'python') => r.rtt.find((f) => f.broker === b && f.pair === p);
    const cell = (f?: RttFigure) => (!f ? '(not run)' : f.error ? shortError(f.error) : `p50 ${ms(f.p50Ms)}  p99 ${ms(f.p99Ms)}`);
    out.push('');
    out.push(`3. Round trip, one task at a time (send → result in hand), ${config.rttN} tasks after 20 warm-ups`);
    out.push(
      table([
        head,
        ['our client + our worker', ...brokers.map((b) => cell(get(b, 'ours')))],
        ['Python client + Python worker (-P solo)', ...brokers.map((b) => cell(get(b, 'python')))],
      ]),
    );
  }

  if (r.rss) {
    const f = r.rss;
    out.push('');
    out.push(`4. Our worker's memory over ${f.tasks.toLocaleString('en-US')} tasks (${BROKER_NAMES[f.broker as BrokerKind]} broker), sampled every ${config.rssEvery.toLocaleString('en-US')} completions`);
    if (f.error) out.push(`  ${shortError(f.error)}`);
    out.push(table([['tasks', 'RSS', 'heap used'], ...f.samples.map((s) => [int(s.tasks), `${round(s.rssMB, 1).toFixed(1)} MB`, `${round(s.heapUsedMB, 1).toFixed(1)} MB`])]));
    if (f.growthPct !== undefined) {
      out.push(`  last sample vs the one at ${int(2 * config.rssEvery)}: ${f.growthPct >= 0 ? '+' : ''}${round(f.growthPct, 1)} % → ${f.flat ? 'flat' : 'GROWING'} (target: flat, within ${FLAT_TOLERANCE_PCT} %); drain rate over the run ${rate(f.rate)}`);
    }
  }
  return out.join('\n');
}

export function writeJson(r: BenchResults): string {
  const path = outPath('results.json');
  writeFileSync(path, JSON.stringify(r, null, 2) + '\n');
  return path;
}
