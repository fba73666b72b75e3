/**
 * Redis Sentinel for the broker and the result backend (kombu's and Celery's `sentinel://…;sentinel://…`
 * URLs with `master_name`): Python Celery 5.2, 5.5 and 5.6 and we share one sentinel group both ways, and the master is
 * killed in the middle of a run: the sentinels promote the replica, our worker reconnects to it through
 * them, deliveries it held come back after the visibility timeout, and every task has its own SUCCESS.
 */
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { RedisBackend, RedisBroker, RedisClusterUnsupportedError } from '../../libs/nestjs-celery/src/transport/redis/index.js';
import { describeWithPrivateBrokers, startPrivateRedis } from '../support/private-broker.js';
import { peerTest, pythonClient, startPythonWorker, type PythonEnv } from '../support/python.js';
import { startRedisSentinelGroup, type RedisSentinelGroup } from '../support/redis-sentinel.js';
import { CELERY_VERSIONS } from '../support/peers.js';
import { REDIS_URL, uniqueName } from '../support/services.js';
import { RunLog, awaitOutcomes, expectAllSucceeded, expectRuns, until } from './support.js';

const describeSentinel = describeWithPrivateBrokers('fault: Redis Sentinel failover', 'redis');
const MASTER = 'mymaster';
const N = 3000;
const CONCURRENCY = 10;
const VISIBILITY_TIMEOUT_S = 5;
const log = (line: string) => process.stdout.write(`redis-sentinel: ${line}\n`);

describeSentinel('Redis Sentinel: broker and result backend on sentinel:// URLs', () => {
  let group: RedisSentinelGroup;
  const apps: Celery[] = [];
  const workers: Worker[] = [];
  let runs: RunLog;

  const app = (queue: string, broker?: RedisBroker) => {
    const a = new Celery({
      broker: broker ?? group.url(0),
      backend: group.url(1),
      brokerTransportOptions: { master_name: MASTER },
      resultBackendTransportOptions: { master_name: MASTER },
      taskDefaultQueue: queue,
      resultExpires: 900,
      logger: silentLogger,
    });
    apps.push(a);
    return a;
  };

  beforeAll(async () => {
    const t0 = Date.now();
    group = await startRedisSentinelGroup({ masterPort: 6490, replicaPort: 6491, sentinelPorts: [26490, 26491, 26492], masterName: MASTER });
    log(`master, replica and three sentinels up in ${Date.now() - t0} ms`);
    runs = new RunLog(REDIS_URL);
  }, 180_000);

  afterAll(async () => {
    for (const w of workers) await w.stop(5000).catch(() => undefined);
    for (const a of apps) await a.close().catch(() => undefined);
    if (runs) {
      await runs.redis.del(runs.key);
      runs.close();
    }
    await group?.stop();
  }, 120_000);

  // every Python Celery the README claims; a missing peer skips its test locally, fails CI
  describe.each(CELERY_VERSIONS)('Python Celery %s', (version) => {
    peerTest('Redis Sentinel interop', version)(
      'and we share the sentinel group both ways (the URL forms and master_name as kombu reads them)',
      async () => {
        const queue = uniqueName('sentinel.nest');
        const pyQueue = uniqueName('sentinel.py');
        const worker = new Worker(app(queue), { concurrency: 2, logger: silentLogger, hostname: `${queue}@sentinel` });
        workers.push(worker);
        worker.register('tasks.add', ([x, y]) => (x as number) + (y as number));
        await worker.start();
        const env = (q: string): PythonEnv => ({
          peer: version,
          broker: group.url(0),
          backend: group.url(1),
          queue: q,
          resultBackendTransportOptions: { master_name: MASTER },
          env: { INTEROP_BROKER_TRANSPORT_OPTIONS: JSON.stringify({ master_name: MASTER }) },
        });
        // a Python client calls our worker
        const outcomes = await pythonClient(env(queue), [{ task: 'tasks.add', args: [2, 3] }], 60);
        expect(outcomes).toEqual([expect.objectContaining({ state: 'SUCCESS', result: 5 })]);
        // we call a Python worker
        const py = await startPythonWorker(env(pyQueue));
        try {
          const result = await app(pyQueue).sendTask('py.add', [4, 5], {}, { queue: pyQueue });
          expect(await result.get({ timeout: 60_000 })).toBe(9);
        } finally {
          await py.stop();
        }
      },
      180_000,
    );
  });

  test('the master is killed mid-run: the replica is promoted, the worker follows the sentinels and every task has its own SUCCESS', async () => {
    const queue = uniqueName('sentinel.fail');
    const client = app(queue);
    const ids: string[] = [];
    for (let start = 0; start < N; start += 500) {
      const batch = await Promise.all(Array.from({ length: Math.min(500, N - start) }, (_, k) => client.sendTask('fault.add', [start + k, start + k])));
      ids.push(...batch.map((r) => r.id));
    }
    // Redis replicates asynchronously: only writes the replica has survive a failover
    await group.synced();

    const broker = new RedisBroker(group.url(0), {
      sentinel: { masterName: MASTER },
      visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_S,
      restoreIntervalSeconds: 1,
      logger: silentLogger,
    });
    const worker = new Worker(app(queue, broker), { concurrency: CONCURRENCY, logger: silentLogger, hostname: `${queue}@sentinel` });
    workers.push(worker);
    worker.register('fault.add', async ([x, y], _kwargs, ctx) => {
      await runs.record(ctx.id);
      return (x as number) + (y as number);
    });
    await worker.start();
    await until(() => worker.processedCount >= N / 3, `the worker to run ${N / 3} tasks`, 120_000);

    const killedAt = Date.now();
    const before = worker.processedCount;
    await group.master.kill();
    await until(async () => (await group.masterPort().catch(() => 0)) === group.replica.port, 'the sentinels to promote the replica', 60_000);
    const promotedMs = Date.now() - killedAt;
    await until(() => worker.processedCount > before + CONCURRENCY, 'the worker to run tasks again', 60_000);
    const resumedMs = Date.now() - killedAt;
    log(`master killed at ${before} tasks run: replica promoted after ${promotedMs} ms, worker running again after ${resumedMs} ms`);

    const all = await awaitOutcomes(group.replica.url(1), ids, 180_000);
    expectAllSucceeded(all);
    // only the deliveries held at the kill (prefetch = concurrency) come back and may run twice
    const reruns = await expectRuns(runs, ids, CONCURRENCY * 2);
    log(
      `all ${N} outcomes stored ${Date.now() - killedAt} ms after the kill; ${reruns} tasks ran twice (restored after the ${VISIBILITY_TIMEOUT_S} s visibility timeout)`,
    );
  }, 420_000);

  test('a Redis Cluster node is refused at startup, saying why, as result backend and as broker', async () => {
    const node = await startPrivateRedis({ port: 6495, args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes-6495.conf'] });
    try {
      const backend = new RedisBackend(node.url(0), { logger: silentLogger });
      const refused = await backend.connect().then(
        () => undefined,
        (err: Error) => err,
      );
      expect(refused).toBeInstanceOf(RedisClusterUnsupportedError);
      expect(refused?.message).toMatch(/Redis Cluster node, which is not supported.*hash slots/);
      await backend.close();
      const broker = new RedisBroker(node.url(0), { logger: silentLogger });
      await expect(broker.connect()).rejects.toThrow(/not supported/);
      await broker.close();
    } finally {
      await node.stop();
    }
  }, 120_000);
});
