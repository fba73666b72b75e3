/**
 * Scale: 20 worker processes on one queue of a private RabbitMQ, 10 Python Celery 5.2 workers
 * (`-P solo`) and 10 of ours (child processes on the built library), with a Python client
 * publishing a few thousand tasks and the Redis result backend. Asserts that prefetch holds and
 * the work is shared (every worker runs some, none more than its concurrency and prefetch allow),
 * that no task runs twice and every outcome is stored with its own value, and that a pidbox
 * broadcast (`inspect().ping()`, from Python and from our client) is answered by all 20 nodes.
 * Prints the figures README "Deploying at scale" quotes (time to ready, drain rate, spread).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { hostname, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { describeWithPrivateBrokers, startPrivateRabbitMq, startPrivateRedis, type PrivateRabbitMq, type PrivateRedis } from '../support/private-broker.js';
import { runPython, startPythonWorker, type PythonEnv, type PythonWorker } from '../support/python.js';
import { uniqueName } from '../support/services.js';
import { RunLog, awaitOutcomes, queueCounts, until } from './support.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const describeScale = describeWithPrivateBrokers('scale: 20 workers on one queue', 'rabbitmq', 'redis');
const log = (line: string) => process.stdout.write(`scale: ${line}\n`);

const PY_WORKERS = 10;
const NEST_WORKERS = 10;
const WORKERS = PY_WORKERS + NEST_WORKERS;
const N = 3000;
/** each task sleeps this long, so a worker running one task at a time runs at most one per TASK_MS */
const TASK_MS = 40;
/**
 * Python `-P solo -c 1`: concurrency 1 × worker_prefetch_multiplier 4 (without `-c 1` solo runs one
 * task at a time but its prefetch counts the machine's cores as its concurrency)
 */
const PY_PREFETCH = 4;
/** ours with concurrency 1: tasks run at once = prefetch */
const NEST_PREFETCH = 1;
/** starting 20 processes on a loaded 2-core machine: readiness is awaited, never slept for */
const READY_MS = 150_000;

/** One of our workers as a child process; resolves once it consumes ("ready"). */
function startNestWorker(brokerUrl: string, backendUrl: string, queue: string, nodename: string): Promise<{ child: ChildProcess; nodename: string }> {
  const child = spawn(process.execPath, [join(here, 'scale-worker-child.mjs'), brokerUrl, backendUrl, queue, nodename], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${nodename} did not start in ${READY_MS} ms: ${err}`)), READY_MS);
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().split('\n').includes('ready')) {
        clearTimeout(timer);
        resolve({ child, nodename });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${nodename} exited (${code}): ${err}`));
    });
  });
}

/** SIGTERM (a warm shutdown), SIGKILL after 15 s. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

describeScale(`scale: ${WORKERS} workers (${PY_WORKERS} Python Celery 5.2, ${NEST_WORKERS} ours) on one RabbitMQ queue`, () => {
  const queue = uniqueName('scale.q');
  let rabbit: PrivateRabbitMq;
  let redis: PrivateRedis;
  let runs: RunLog;
  let client: Celery | undefined;
  const python: PythonWorker[] = [];
  const nest: ChildProcess[] = [];

  beforeAll(async () => {
    // our workers load the built library, as a user's process would
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'libs', 'nestjs-celery', 'tsconfig.lib.json')], {
      stdio: 'pipe',
    });
    [rabbit, redis] = await Promise.all([startPrivateRabbitMq({ port: 5750 }), startPrivateRedis({ port: 6450 })]);
    runs = new RunLog(redis.url());
  }, 300_000);

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await Promise.all([...python.map((w) => w.stop()), ...nest.map(stopChild)]);
    runs?.close();
    await Promise.all([rabbit?.stop(), redis?.stop()]);
  }, 120_000);

  test('every worker shares the work within prefetch, no task runs twice, every outcome is stored, all 20 answer ping', async () => {
    const env: PythonEnv = { broker: rabbit.url, backend: redis.url(), queue };
    const t0 = Date.now();
    const [pyWorkers, nestWorkers] = await Promise.all([
      Promise.all(Array.from({ length: PY_WORKERS }, () => startPythonWorker(env, ['--include', 'scale_tasks', '-c', '1'], READY_MS))),
      Promise.all(
        Array.from({ length: NEST_WORKERS }, (_, k) => startNestWorker(rabbit.url, redis.url(), queue, `scale-nest-${k}-${process.pid}@${hostname()}`)),
      ),
    ]);
    python.push(...pyWorkers);
    nest.push(...nestWorkers.map((w) => w.child));
    const readyMs = Date.now() - t0;
    const nodes = [...pyWorkers.map((w) => w.nodename), ...nestWorkers.map((w) => w.nodename)].sort();
    expect(new Set(nodes).size).toBe(WORKERS);
    log(`${WORKERS} workers ready in ${readyMs} ms (load average ${loadavg()[0].toFixed(1)})`);

    // every consumer of the queue holds the prefetch its kind sets: 4 per Python solo worker, 1 per
    // ours. Celery sets it on the channel (basic.qos global, RabbitMQ's per-channel limit), a
    // per-consumer limit shows on the consumer itself: the effective one is whichever is set
    const rows = async (...args: string[]) => (await rabbit.ctl(...args, '-q', '--no-table-headers')).split('\n').map((line) => line.trim().split(/\s+/));
    const channelPrefetch = new Map((await rows('list_channels', 'pid', 'global_prefetch_count')).map(([pid, global]) => [pid, Number(global)]));
    const prefetches = (await rows('list_consumers', 'queue_name', 'channel_pid', 'prefetch_count'))
      .filter(([name]) => name === queue)
      .map(([, pid, prefetch]) => Number(prefetch) || (channelPrefetch.get(pid) ?? 0))
      .sort();
    expect(prefetches).toEqual([...Array<number>(NEST_WORKERS).fill(NEST_PREFETCH), ...Array<number>(PY_WORKERS).fill(PY_PREFETCH)]);

    // pidbox broadcast: Python's inspect().ping() and ours are answered by every node, by name
    // (replies come back over one reply queue; a node busy starting may answer a moment late)
    let pyPing: Record<string, unknown> = {};
    await until(
      async () => {
        pyPing = (await runPython<{ ping: Record<string, unknown> }>('control_peer.py', env, { op: 'inspect', commands: ['ping'], timeout: 5 })).ping;
        return Object.keys(pyPing).length === WORKERS;
      },
      `all ${WORKERS} workers to answer Python's inspect().ping()`,
      90_000,
    );
    expect(Object.keys(pyPing).sort()).toEqual(nodes);
    expect(Object.values(pyPing)).toEqual(Array(WORKERS).fill({ ok: 'pong' }));
    client = new Celery({ broker: rabbit.url, backend: redis.url(), taskDefaultQueue: queue, logger: silentLogger });
    const ourPing = await client.control.inspect({ timeout: 10_000, limit: WORKERS }).ping();
    expect(Object.keys(ourPing).sort()).toEqual(nodes);
    expect(Object.values(ourPing)).toEqual(Array(WORKERS).fill({ ok: 'pong' }));

    // the Python client publishes N tasks while all 20 consume; the queue is sampled meanwhile
    const prefix = uniqueName('scale.task');
    const ids = Array.from({ length: N }, (_, i) => `${prefix}-${i}`);
    const t1 = Date.now();
    const published = runPython<{ published: number; seconds: number }>('scale_client.py', env, { n: N, prefix, runs_key: runs.key, ms: TASK_MS }, [], 180_000);
    let drained = false;
    const samples: { ready: number; unacked: number }[] = [];
    const sampling = (async () => {
      while (!drained) samples.push(await queueCounts(rabbit.ctl, queue));
    })();
    const all = await awaitOutcomes(redis.url(), ids, 180_000).finally(() => (drained = true));
    const drainMs = Date.now() - t1;
    const { seconds: publishSeconds } = await published;
    await sampling;

    // every outcome stored: SUCCESS with its own value, from one of the 20 nodes
    const wrong = all.map((o, i) => [i, o] as const).filter(([i, o]) => o?.status !== 'SUCCESS' || (o.result as { value: number }).value !== 2 * i);
    expect(wrong.slice(0, 5)).toEqual([]);
    const perWorker = new Map<string, number>(nodes.map((n) => [n, 0]));
    for (const o of all) {
      const by = (o!.result as { worker: string }).worker;
      expect(perWorker.has(by)).toBe(true);
      perWorker.set(by, perWorker.get(by)! + 1);
    }

    // no duplicates: each task body ran exactly once (no fault here, so no redelivery either)
    const counts = await runs.counts(ids);
    expect({ never: counts.filter((c) => c === 0).length, twice: counts.filter((c) => c > 1).length }).toEqual({ never: 0, twice: 0 });

    // prefetch holds: while the queue had a backlog, the messages handed out (unacked) never
    // exceeded the sum of the consumers' prefetch counts (a worker ignoring its prefetch would
    // take the whole backlog at once). rabbitmqctl answers in seconds on a loaded machine, so a run
    // may take no sample while the backlog lasts (CI2 did not): then this check has nothing to say,
    // and the per-consumer prefetch asserted above is what proves the bound.
    const windowSum = PY_WORKERS * PY_PREFETCH + NEST_WORKERS * NEST_PREFETCH;
    if (!samples.some((s) => s.ready > windowSum)) console.log(`scale: no queue sample landed during the backlog (${samples.length} samples)`);
    expect(Math.max(...samples.map((s) => s.unacked))).toBeLessThanOrEqual(windowSum);

    // fair distribution: every worker ran some tasks, and none ran more than its concurrency (1)
    // allows in the drain time, TASK_MS per task (each task sleeps that long), plus the prefetch it
    // may hold at the end. A worker running more at once than its prefetch, or fetching more than
    // that while others wait, exceeds it; a loaded machine only lengthens drainMs, never breaks it.
    const pyNodes = new Set(pyWorkers.map((w) => w.nodename));
    const over = [...perWorker].filter(([node, n]) => n > Math.floor(drainMs / TASK_MS) + (pyNodes.has(node) ? PY_PREFETCH : NEST_PREFETCH));
    expect(over).toEqual([]);
    const shares = [...perWorker.values()];
    expect(Math.min(...shares)).toBeGreaterThan(0);
    const byKind = (py: boolean) => [...perWorker].filter(([node]) => pyNodes.has(node) === py).reduce((sum, [, n]) => sum + n, 0);
    log(
      `${N} tasks (${TASK_MS} ms each) published in ${(publishSeconds * 1000).toFixed(0)} ms, drained in ${drainMs} ms ` +
        `(${((N / drainMs) * 1000).toFixed(0)} tasks/s; ${Math.round((N * TASK_MS) / WORKERS)} ms if every worker ran back to back); ` +
        `per worker min ${Math.min(...shares)} max ${Math.max(...shares)} (mean ${N / WORKERS}); Python ${byKind(true)}, ours ${byKind(false)}; ` +
        `unacked at most ${Math.max(...samples.map((s) => s.unacked))} of ${windowSum} over ${samples.length} samples (backlog up to ${Math.max(
          ...samples.map((s) => s.ready),
        )}); duplicates 0; load average ${loadavg()[0].toFixed(1)}`,
    );
  }, 420_000);
});
