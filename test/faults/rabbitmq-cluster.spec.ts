/**
 * Fault: a three-node RabbitMQ 4.x cluster with a quorum queue loses the node our worker is connected
 * to in the middle of a 10,000-task run, then the node our client publishes to. Both reconnect through
 * their `;`-separated failover lists (round-robin), re-declare and re-consume on a surviving node;
 * every task ends with exactly one stored outcome, and only deliveries in flight at a kill run twice.
 * Python Celery 5.5 and 5.6 then use the same failover URL, its first node down, both ways.
 */
import { firstValueFrom, filter, skip } from 'rxjs';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { describeWithRabbitMqCluster, startRabbitMqCluster, type RabbitMqCluster } from '../support/rabbitmq-cluster.js';
import { peerTest, pythonClient, startPythonWorker, type PythonEnv } from '../support/python.js';
import { REDIS_URL, uniqueName } from '../support/services.js';
import { RunLog, awaitOutcomes, expectAllSucceeded, expectRuns, until } from './support.js';

const describeCluster = describeWithRabbitMqCluster('fault: RabbitMQ cluster node killed');
const N = 10_000;
const CONCURRENCY = 20;
const log = (line: string) => process.stdout.write(`rabbitmq-cluster: ${line}\n`);

describeCluster('fault: RabbitMQ cluster nodes killed mid-run (quorum queue, failover URLs)', () => {
  let cluster: RabbitMqCluster;
  const apps: Celery[] = [];
  let worker: Worker | undefined;
  const workers: Worker[] = [];
  let runs: RunLog;

  beforeAll(async () => {
    const t0 = Date.now();
    cluster = await startRabbitMqCluster({ ports: [5691, 5692, 5693], epmdPort: 26691 });
    log(`three-node cluster up in ${Date.now() - t0} ms`);
    runs = new RunLog(REDIS_URL);
  }, 360_000);

  afterAll(async () => {
    for (const w of [worker, ...workers]) await w?.stop(5000).catch(() => undefined);
    for (const a of apps) await a.close().catch(() => undefined);
    if (runs) {
      await runs.redis.del(runs.key);
      runs.close();
    }
    await cluster?.stop();
  }, 240_000);

  /** Wait until the broker has reconnected after a loss; returns how long that took. */
  async function recovery(app: Celery, lost: Promise<unknown>): Promise<number> {
    const t0 = Date.now();
    await lost;
    await firstValueFrom(app.broker.status$.pipe(filter((s) => s === 'connected')));
    return Date.now() - t0;
  }

  test("killing the worker's node, then the client's: every task has its own SUCCESS, none lost", async () => {
    const queue = uniqueName('cluster.q');
    const [n1, n2] = cluster.nodes;
    // the worker starts on node 1, the client on node 2; round-robin moves each to the next node
    const workerApp = new Celery({
      broker: cluster.failoverUrl(0),
      backend: REDIS_URL,
      taskDefaultQueue: queue,
      taskDefaultQueueType: 'quorum',
      resultExpires: 900,
      logger: silentLogger,
    });
    const client = new Celery({ broker: cluster.failoverUrl(1), backend: null, taskDefaultQueue: queue, taskDefaultQueueType: 'quorum', logger: silentLogger });
    apps.push(workerApp, client);
    worker = new Worker(workerApp, { concurrency: CONCURRENCY, logger: silentLogger, hostname: `${queue}@cluster` });
    worker.register('fault.add', async ([x, y], _kwargs, ctx) => {
      await runs.record(ctx.id);
      return (x as number) + (y as number);
    });
    await worker.start();

    // the client publishes with confirms (a quorum queue confirms once a majority has the message);
    // a publish lost with its connection is sent again under the same id, as Celery's publish retry does
    const ids: string[] = [];
    let republished = 0;
    const send = async (i: number) => {
      const taskId = `${queue}-${i}`;
      for (;;) {
        try {
          await client.sendTask('fault.add', [i, i], {}, { taskId });
          return taskId;
        } catch {
          republished++;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const publish = async (from: number, to: number) => {
      for (let start = from; start < to; start += 250) {
        ids.push(...(await Promise.all(Array.from({ length: Math.min(250, to - start) }, (_, k) => send(start + k)))));
      }
    };
    const t0 = Date.now();

    // 1. the worker's node dies while the worker works through the first half
    const first = publish(0, N / 2);
    await until(() => worker!.processedCount >= N / 10, `the worker to run ${N / 10} tasks`, 120_000);
    const workerLost = firstValueFrom(
      workerApp.broker.status$.pipe(
        skip(1),
        filter((s) => s !== 'connected'),
      ),
    );
    await n1.kill();
    const workerRecoveryMs = await recovery(workerApp, workerLost);
    log(`worker reconnected ${workerRecoveryMs} ms after its node was killed (at ${worker.processedCount} tasks run)`);
    await first;
    // node 1 comes back (quorum needs two of three nodes before the next kill)
    await n1.start();

    // 2. the client's node dies while it publishes the second half
    const clientLost = firstValueFrom(
      client.broker.status$.pipe(
        skip(1),
        filter((s) => s !== 'connected'),
      ),
    );
    const second = publish(N / 2, N);
    await until(() => ids.length >= N / 2 + 1000, 'the client to publish 1,000 more tasks', 120_000);
    await n2.kill();
    const clientRecoveryMs = await recovery(client, clientLost);
    log(`client reconnected ${clientRecoveryMs} ms after its node was killed (${republished} publishes sent again)`);
    await second;

    expect(ids).toEqual(Array.from({ length: N }, (_, i) => `${queue}-${i}`));
    const all = await awaitOutcomes(REDIS_URL, ids, 240_000);
    expectAllSucceeded(all);
    // at-least-once: only what was in flight at a kill (worker prefetch, publishes awaiting a confirm) runs twice
    const reruns = await expectRuns(runs, ids, CONCURRENCY * 4 + republished);
    log(`${N} tasks in ${Date.now() - t0} ms; ${reruns} ran twice; every outcome stored once`);
  }, 600_000);

  // after the run node 2 is down: a failover list starting at it is the URL form under test. The quorum
  // fleets (Celery 5.5, 5.6: task_default_queue_type). Celery 5.2 is not here: on this 4.3 cluster its
  // declare of a queue our app had declared classic (no x-queue-type) was refused as inequivalent
  // ('classic' received, 'quorum' current), not understood yet; its sentinel:// interop is covered.
  describe.each(['5.5', '5.6'] as const)('Python Celery %s on the same failover URL (its first node down)', (version) => {
    peerTest('RabbitMQ cluster interop', version)(
      'calls our worker and serves our client, both failing over to a live node',
      async () => {
        const queue = uniqueName('cluster.nest');
        const pyQueue = uniqueName('cluster.py');
        const url = cluster.failoverUrl(1);
        const options = {
          broker: url,
          backend: REDIS_URL,
          taskDefaultQueueType: 'quorum' as const,
          brokerFailoverStrategy: 'round-robin' as const,
          logger: silentLogger,
        };
        const nestApp = new Celery({ ...options, taskDefaultQueue: queue });
        const nestClient = new Celery({ ...options, taskDefaultQueue: pyQueue });
        apps.push(nestApp, nestClient);
        const w = new Worker(nestApp, { concurrency: 2, logger: silentLogger, hostname: `${queue}@cluster` });
        workers.push(w);
        w.register('tasks.add', ([x, y]) => (x as number) + (y as number));
        await w.start();
        const env = (q: string): PythonEnv => ({
          peer: version,
          broker: url,
          backend: REDIS_URL,
          queue: q,
          env: { INTEROP_QUEUE_TYPE: 'quorum', INTEROP_BROKER_FAILOVER_STRATEGY: 'round-robin' },
        });
        const outcomes = await pythonClient(env(queue), [{ task: 'tasks.add', args: [2, 3] }], 60);
        expect(outcomes).toEqual([expect.objectContaining({ state: 'SUCCESS', result: 5 })]);
        const py = await startPythonWorker(env(pyQueue));
        try {
          const result = await nestClient.sendTask('py.add', [4, 5], {}, { queue: pyQueue });
          expect(await result.get({ timeout: 60_000 })).toBe(9);
        } finally {
          await py.stop();
        }
      },
      180_000,
    );
  });
});
