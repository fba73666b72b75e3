/**
 * Fault: two beat replicas share one schedule; the leader is SIGKILLed, the follower takes over
 * when its lock expires, then it is killed too and a fresh beat starts from the stored state.
 * Asserted on the runs a worker records: no run doubled (distinct task ids, no two runs closer
 * than the interval), none missed (the run due while nobody led fires once at takeover), and
 * the one-off entry runs exactly once across the three leaders. Uses the shared Redis with its
 * own keys and queue (no broker is touched). CI time: ~25 s.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { deleteQueues } from '../support/cleanup.js';
import { REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';
import { until } from './support.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const EVERY_S = 1;
const LOCK_MS = 3000;

/** every replica started, killed at the end whatever happened */
const started: ChildProcess[] = [];

interface Replica {
  child: ChildProcess;
  leading: () => boolean;
}

function startBeat(key: string, queue: string, onceAt: Date): Promise<Replica> {
  const child = spawn(process.execPath, [join(here, 'beat-child.mjs'), REDIS_URL, key, queue, String(EVERY_S), String(LOCK_MS), onceAt.toISOString()], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let leading = false;
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`beat did not start: ${err}`)), 60_000);
    child.stdout.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (line === 'leading') leading = true;
        if (line === 'ready') {
          clearTimeout(timer);
          resolve({ child, leading: () => leading });
        }
      }
    });
    child.once('exit', (code, signal) => signal !== 'SIGKILL' && reject(new Error(`beat exited (${code}): ${err}`)));
  });
}

function kill(replica: Replica): Promise<void> {
  return new Promise((resolve) => {
    replica.child.once('exit', () => resolve());
    replica.child.kill('SIGKILL');
  });
}

const describeBeat = await describeIfAvailable('fault: beat leader SIGKILL', 'redis');

describeBeat('fault: beat leader SIGKILLed, a follower takes over, a restart continues', () => {
  const key = uniqueName('beat.failover');
  const queue = uniqueName('beat.failover');
  const replicas: Replica[] = [];
  const ticks: { id: string; at: number }[] = [];
  const onces: string[] = [];
  let app: Celery;
  let worker: Worker;

  beforeAll(async () => {
    // the replicas load the built library, as a user's process would
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'libs', 'nestjs-celery', 'tsconfig.lib.json')], {
      stdio: 'pipe',
    });
    app = new Celery({ broker: REDIS_URL, logger: silentLogger });
    worker = new Worker(app, { queues: [queue], concurrency: 4, logger: silentLogger });
    worker.register('beat.tick', (_args, _kwargs, ctx) => void ticks.push({ id: ctx.id, at: Date.now() }));
    worker.register('beat.once', (_args, _kwargs, ctx) => void onces.push(ctx.id));
    await worker.start();
  }, 240_000);

  afterAll(async () => {
    for (const child of started) child.kill('SIGKILL');
    await worker?.stop();
    await app?.close();
    await deleteQueues(REDIS_URL, [queue]);
    const redis = new Redis(REDIS_URL);
    await redis.del(`${key}:lock`, `${key}:fence`, `${key}:state`);
    redis.disconnect();
  }, 60_000);

  test('no run missed or doubled across a leader kill and a restart; the one-off runs once', async () => {
    const onceAt = new Date(Date.now() + 3000);
    replicas.push(...(await Promise.all([startBeat(key, queue, onceAt), startBeat(key, queue, onceAt)])));
    await until(() => replicas.some((r) => r.leading()), 'a leader');
    const leader = replicas.find((r) => r.leading())!;
    const follower = replicas.find((r) => r !== leader)!;
    await until(() => ticks.length >= 3 && onces.length === 1, 'three runs and the one-off under the first leader');
    await kill(leader);
    const beforeKill = ticks.length;
    await until(() => follower.leading(), 'the follower to take over', 30_000);
    await until(() => ticks.length >= beforeKill + 3, 'three runs under the second leader');
    await kill(follower);
    const beforeRestart = ticks.length;
    const restarted = await startBeat(key, queue, onceAt);
    replicas.push(restarted);
    await until(() => restarted.leading(), 'the restarted beat to lead', 30_000);
    await until(() => ticks.length >= beforeRestart + 3, 'three runs after the restart');

    expect(new Set(ticks.map((t) => t.id)).size).toBe(ticks.length);
    const gaps = ticks.slice(1).map((t, i) => t.at - ticks[i].at);
    // never doubled: consecutive runs at least an interval apart (a little timer and delivery slack)
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(EVERY_S * 1000 - 300);
    // never missed: the longest gap is a takeover (lock expiry + one renewal tick + delivery), the run due meanwhile fired at once
    expect(Math.max(...gaps)).toBeLessThan(LOCK_MS + EVERY_S * 1000 + 4000);
    expect(onces).toHaveLength(1);
  }, 180_000);
});
