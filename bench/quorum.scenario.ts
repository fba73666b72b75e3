/**
 * Quorum queues on RabbitMQ 4.x (issue 18 item 4), on one node (`scripts/interop/rabbitmq4.sh
 * start`, port 5682): drain and publish rates of our worker and client on a classic and on a
 * quorum queue, and of Python Celery 5.5 and 5.6 (scripts/interop/celery-peers.sh) on the same
 * quorum queue type (task_default_queue_type='quorum'). Result backend: the bench's Redis.
 * Ours on quorum is printed as a % of ours on classic (target ≥ 70 %), and over each Python.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { BrokerAdmin } from './broker-admin.js';
import { benchQueue, config, int, ROOT } from './config.js';
import type { BenchContext } from './context.js';
import { NodeChild, PythonWorker, runPythonScript } from './processes.js';
import { errorText, median, ratio } from './stats.js';
import { timedDrain, type TimedDrainFigure } from './timed-drain.js';

export const quorumConfig = {
  url: process.env.BENCH_AMQP4_URL ?? process.env.TEST_AMQP4_URL ?? 'amqp://guest:guest@127.0.0.1:5682//',
  /**
   * Celery 5.5's node: RabbitMQ 4.3 denies transient non-exclusive queues on the main one, and
   * Debian's Celery 5.5.2 declares its pidbox queue so (no control_queue_exclusive before 5.6);
   * the same RabbitMQ permitting only that (RABBITMQ4_PORT=5683 RABBITMQ4_PERMIT=transient_nonexcl_queues)
   */
  permissiveUrl: process.env.BENCH_AMQP4_PERMISSIVE_URL ?? process.env.TEST_AMQP4_PERMISSIVE_URL ?? 'amqp://guest:guest@127.0.0.1:5683//',
  /** tasks per drain and per publish run */
  n: int('BENCH_QUORUM_N', 10_000, 100),
  rounds: int('BENCH_QUORUM_ROUNDS', 1),
};

export type QuorumSide = 'ours' | 'python-5.5' | 'python-5.6';
export type QueueType = 'classic' | 'quorum';

export interface QuorumRow extends TimedDrainFigure {
  part: 'drain' | 'publish';
  side: QuorumSide;
  queueType: QueueType;
  round?: number;
}

export interface QuorumFigure {
  rabbitmq?: string;
  /** where each side ran */
  urls: Record<string, string>;
  n: number;
  rows: QuorumRow[];
  /** Python Celery versions found, or why not */
  peers: Record<string, string>;
  ratios: Record<string, { value?: number; target: number; met?: boolean }>;
  error?: string;
}

/** ours on quorum over ours on classic, and over Python on quorum */
export const QUORUM_TARGETS = { quorumOverClassic: 0.7, oursOverPython: 1 };

const SIDES: [QuorumSide, QueueType][] = [
  ['ours', 'classic'],
  ['ours', 'quorum'],
  ['python-5.5', 'quorum'],
  ['python-5.6', 'quorum'],
];

/** Celery 5.5 and 5.6 from scripts/interop/celery-peers.sh --print ("5.5 <dir>" lines), checked by importing them. */
export function celeryPeers(): Record<string, { path?: string; version: string }> {
  const out: Record<string, { path?: string; version: string }> = {};
  const listed = spawnSync(join(ROOT, 'scripts', 'interop', 'celery-peers.sh'), ['--print'], { encoding: 'utf8' });
  const paths = new Map((listed.stdout ?? '').split('\n').map((l) => l.trim().split(/\s+/) as [string, string]));
  for (const v of ['5.5', '5.6']) {
    const path = paths.get(v);
    const r =
      path && spawnSync(config.python, ['-c', 'import celery; print(celery.__version__)'], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path } });
    out[`python-${v}`] =
      r && r.status === 0 && r.stdout.startsWith(`${v}.`)
        ? { path, version: r.stdout.trim() }
        : { version: `unavailable (${listed.stderr?.trim() || 'not built'})` };
  }
  return out;
}

export async function quorumQueues(ctx: BenchContext): Promise<QuorumFigure> {
  const n = quorumConfig.n;
  const figure: QuorumFigure = { n, rows: [], peers: {}, ratios: {}, urls: {} };
  const urlOf = (side: QuorumSide) => (side === 'python-5.5' ? quorumConfig.permissiveUrl : quorumConfig.url);
  const admins = new Map<string, BrokerAdmin>();
  const contextOf = async (side: QuorumSide): Promise<BenchContext> => {
    const url = urlOf(side);
    let admin = admins.get(url);
    if (!admin) {
      admin = new BrokerAdmin({ amqp: url, redis: config.brokers.redis }, config.backend);
      admins.set(url, admin);
      try {
        await admin.connect(['amqp']);
      } catch (error) {
        throw new Error(`RabbitMQ 4.x at ${url} unreachable (scripts/interop/rabbitmq4.sh start): ${errorText(error)}`);
      }
    }
    return { ...ctx, admin };
  };
  const peers = celeryPeers();
  for (const [side] of SIDES) figure.urls[side] = urlOf(side).replace(/\/\/[^@]*@/, '//');
  figure.peers = Object.fromEntries(Object.entries(peers).map(([k, v]) => [k, v.version]));
  const pythonEnv = (side: QuorumSide, queue: string, queueType: QueueType) => ({
    broker: urlOf(side),
    backend: config.backend,
    queue,
    queueType,
    pythonPath: [peers[side]?.path ?? ''],
    // Celery 5.6's exclusive control/event queues: RabbitMQ 4.3 denies transient non-exclusive ones
    exclusiveQueues: side === 'python-5.6',
  });
  try {
    figure.rabbitmq = (await (await contextOf('ours')).admin.versions()).rabbitmq;
    for (let round = 1; round <= quorumConfig.rounds; round++) {
      for (const [side, queueType] of SIDES) {
        if (side !== 'ours' && !peers[side]?.path) continue;
        const queue = benchQueue(`quorum-drain-${side}-${queueType}`);
        const label = `quorum drain ${side} on a ${queueType} queue`;
        const start = () =>
          side === 'ours'
            ? new NodeChild(label, 'our-worker.js', {
                broker: quorumConfig.url,
                backend: config.backend,
                queue,
                task: config.task,
                concurrency: config.concurrency,
                ackMode: config.ackMode,
                queueType,
              })
            : new PythonWorker(label, pythonEnv(side, queue, queueType));
        const drained = await timedDrain(await contextOf(side), label, 'amqp', queue, n, { brokerUrl: urlOf(side), queueType }, start);
        figure.rows.push({ ...drained, part: 'drain', side, queueType, round });
      }
    }
    // publish with confirms, the guarantee a quorum queue is chosen for
    for (const [side, queueType] of SIDES) {
      if (side !== 'ours' && !peers[side]?.path) continue;
      figure.rows.push({ ...(await publishRow(await contextOf(side), side, queueType, pythonEnv)), part: 'publish', side, queueType });
    }
  } catch (error) {
    figure.error = errorText(error);
    ctx.progress(`quorum: ${figure.error}`);
  } finally {
    for (const admin of admins.values()) await admin.close();
  }
  const rate = (part: QuorumRow['part'], side: QuorumSide, type: QueueType) =>
    median(figure.rows.filter((r) => r.part === part && r.side === side && r.queueType === type && !r.error && !r.wrongResults).map((r) => r.rate!));
  for (const part of ['drain', 'publish'] as const) {
    const add = (key: string, value: number | undefined, target: number) =>
      (figure.ratios[`${part}.${key}`] = { value, target, met: value === undefined ? undefined : value >= target });
    add('oursQuorumOverClassic', ratio(rate(part, 'ours', 'quorum'), rate(part, 'ours', 'classic')), QUORUM_TARGETS.quorumOverClassic);
    for (const py of ['python-5.5', 'python-5.6'] as const)
      add(
        `oursOver${py === 'python-5.5' ? 'Python55' : 'Python56'}`,
        ratio(rate(part, 'ours', 'quorum'), rate(part, py, 'quorum')),
        QUORUM_TARGETS.oursOverPython,
      );
  }
  return figure;
}

async function publishRow(
  ctx: BenchContext,
  side: QuorumSide,
  queueType: QueueType,
  pythonEnv: (side: QuorumSide, queue: string, queueType: QueueType) => Parameters<typeof runPythonScript>[1],
): Promise<TimedDrainFigure> {
  const n = quorumConfig.n;
  const figure: TimedDrainFigure = { n };
  const queue = benchQueue(`quorum-publish-${side}-${queueType}`);
  let ids: string[] = [];
  try {
    ctx.progress(`quorum publish ${side} on a ${queueType} queue: ${n} sends with confirms`);
    let seconds: number;
    if (side === 'ours') {
      const child = new NodeChild(`our client on a ${queueType} queue`, 'our-client.js', {
        mode: 'publish',
        broker: quorumConfig.url,
        backend: config.backend,
        queue,
        task: config.task,
        n,
        inflight: config.inflight,
        confirmPublish: true,
        queueType,
      });
      try {
        const result = await child.next('result', 600_000);
        seconds = result.seconds as number;
        ids = [...(result.ids as string[]), result.warmId as string];
      } finally {
        await child.stop();
      }
    } else {
      const out = await runPythonScript<{ seconds: number; ids: string[] }>(
        'bench_publish.py',
        { ...pythonEnv(side, queue, queueType), confirmPublish: true },
        [String(n)],
      );
      seconds = out.seconds;
      ids = out.ids;
    }
    figure.seconds = seconds;
    figure.rate = n / seconds;
    figure.loadAverage = loadavg()[0];
    const depth = await ctx.admin.depth('amqp', queue);
    if (depth !== n + 1) throw new Error(`sent ${n + 1} tasks with confirms but queue ${queue} holds ${depth}`);
  } catch (error) {
    figure.error = errorText(error);
    ctx.progress(`quorum publish ${side} (${queueType}) failed: ${figure.error}`);
  } finally {
    await ctx.admin.deleteQueue('amqp', queue).catch(() => undefined);
    await ctx.admin.deleteResults(ids).catch(() => undefined);
  }
  return figure;
}
