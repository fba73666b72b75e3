/**
 * A Celery 5.5/5.6 fleet with task_default_queue_type='quorum' and native delayed delivery (a
 * topic default exchange), mixed with our worker and client: plain tasks and countdowns both
 * ways, through the celery_delayed_* topology Python's worker and ours declare alike. Each
 * scenario runs Python → Python first, so a failure on our side is ours.
 * Peers: Celery 5.5 and 5.6 (test/support/peers.ts); brokers: RabbitMQ 3.x (quorum queues refuse
 * global QoS there as on 4.x) and the RabbitMQ 4.x node with every deprecated feature denied.
 */
import { randomUUID } from 'node:crypto';
import { expect, jest } from '@jest/globals';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import type { CeleryOptions } from '../../libs/nestjs-celery/src/engine/celery.options.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { chain, chord, signature } from '../../libs/nestjs-celery/src/engine/canvas/index.js';
import { QueueMismatchError } from '../../libs/nestjs-celery/src/engine/errors.js';
import { deleteAmqpQueues } from '../support/cleanup.js';
import { pythonClient, startPythonWorker, type PythonEnv, type PythonOutcome, type PythonWorker } from '../support/python.js';
import { AMQP_URL, REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';
import { AMQP4_URL } from '../support/peers.js';
import { controlPeer } from '../control/support/python-peer.js';

jest.setTimeout(120_000);

const BROKERS: [string, string][] = [
  ['RabbitMQ 3.x', AMQP_URL],
  ['RabbitMQ 4.x', AMQP4_URL],
];
const MATRIX = BROKERS.flatMap(([brokerName, url]) => (['5.5', '5.6'] as const).map((version) => [version, brokerName, url] as const));

const describeInterop = await describeIfAvailable('quorum + native delayed delivery interop', 'redis', 'rabbitmq', 'rabbitmq4', 'celery-5.5', 'celery-5.6');
const FLEET = { INTEROP_QUEUE_TYPE: 'quorum', INTEROP_EXCHANGE_TYPE: 'topic' };
/** the fleet's settings on our side; queues beyond the default one (canvas steps) are created alike */
const SETTINGS: CeleryOptions = {
  taskDefaultQueueType: 'quorum',
  taskDefaultExchangeType: 'topic',
  taskCreateMissingQueueType: 'quorum',
  taskCreateMissingQueueExchangeType: 'topic',
};
/** what kombu's calculate_routing_key makes of a 3-second countdown */
const THREE_SECONDS = `${'0.'.repeat(26)}1.1.`;

describeInterop.each(MATRIX)('Celery %s quorum fleet on %s', (version, _broker, brokerUrl) => {
  const pyQueue = uniqueName('quorum.py');
  const nodeQueue = uniqueName('quorum.node');
  const rabbit4 = brokerUrl === AMQP4_URL;
  // Celery 5.5 predates control_queue_exclusive: on RabbitMQ 4.3 its worker runs without remote control
  const pyRemoteControl = !(rabbit4 && version === '5.5');
  const extraEnv: Record<string, string> = { ...FLEET, INTEROP_FLEET_QUEUES: nodeQueue, ...(rabbit4 ? { INTEROP_EXCLUSIVE_CONTROL: '1' } : {}) };
  const toPy: PythonEnv = { broker: brokerUrl, backend: REDIS_URL, queue: pyQueue, peer: version, env: extraEnv };
  const toNode: PythonEnv = { ...toPy, queue: nodeQueue };
  let pyWorker: PythonWorker;
  let app: Celery;
  let worker: Worker;
  const seen: { exchange: string; routingKey: string; at: number }[] = [];

  beforeAll(async () => {
    // Python's worker declares the quorum queue, the topology and its bindings first
    pyWorker = await startPythonWorker(toPy);
    app = new Celery({ broker: brokerUrl, backend: REDIS_URL, taskDefaultQueue: nodeQueue, logger: silentLogger, ...SETTINGS });
    worker = new Worker(app, { queues: [nodeQueue], concurrency: 2, logger: silentLogger, hostname: `${nodeQueue}@test` });
    worker.register('py.add', ([x, y]) => (x as number) + (y as number));
    worker.register('node.tsum', ([values]) => (values as number[]).reduce((a, b) => a + b, 0));
    worker.register('py.delivery', (_a, _k, ctx) => {
      seen.push({ exchange: ctx.deliveryInfo.exchange, routingKey: ctx.deliveryInfo.routingKey, at: Date.now() });
      return { exchange: ctx.deliveryInfo.exchange, routing_key: ctx.deliveryInfo.routingKey };
    });
    // the second attempt of a task Python retried into our queue; our own retry into `target` (ours or Python's) through the delay topology
    worker.register('py.retry_hop', async ([target], _k, ctx) => {
      if (ctx.retries === 0) return ctx.retry({ countdown: 2, queue: target as string });
      return { by: 'node', retries: ctx.retries, target, exchange: ctx.deliveryInfo.exchange, routing_key: ctx.deliveryInfo.routingKey };
    });
    await worker.start();
  });

  afterAll(async () => {
    await worker?.stop(2000).catch(() => undefined);
    await app?.close().catch(() => undefined);
    await pyWorker?.stop();
    await deleteAmqpQueues([pyQueue, nodeQueue]).catch(() => undefined);
  });

  test('Python client → Python worker (validation): plain task and a countdown through celery_delayed_*', async () => {
    const [plain, delayed] = await pythonClient(toPy, [
      { task: 'py.add', args: [2, 3] },
      { task: 'py.delivery', options: { countdown: 3 } },
    ]);
    expect(plain).toMatchObject({ state: 'SUCCESS', result: 5 });
    expect(delayed.state).toBe('SUCCESS');
    expect((delayed.result as { routing_key: string }).routing_key).toBe(`${THREE_SECONDS}${pyQueue}`);
  });

  test('our worker joins: same quorum queue declarations; a Python client reaches it, countdowns included', async () => {
    const started = Date.now();
    const [plain, delayed] = await pythonClient(toNode, [
      { task: 'py.add', args: [4, 5] },
      { task: 'py.delivery', options: { countdown: 3 } },
    ]);
    expect(plain).toMatchObject({ state: 'SUCCESS', result: 9 });
    expect(delayed).toMatchObject({ state: 'SUCCESS', result: { routing_key: `${THREE_SECONDS}${nodeQueue}` } });
    expect(delayed.result).toMatchObject({ exchange: expect.stringMatching(/^celery_delayed_/) });
    expect(seen.at(-1)!.at - started).toBeGreaterThanOrEqual(2000);
  });

  test('our client reaches the Python worker: plain task and a countdown through celery_delayed_*', async () => {
    const client = new Celery({ broker: brokerUrl, backend: REDIS_URL, taskDefaultQueue: pyQueue, logger: silentLogger, ...SETTINGS });
    try {
      expect(await (await client.sendTask('py.add', [20, 22])).get({ timeout: 60_000 })).toBe(42);
      const sent = Date.now();
      const delayed = await client.sendTask<{ routing_key: string; exchange: string }>('py.delivery', [], {}, { countdown: 3 });
      const where = await delayed.get({ timeout: 60_000 });
      expect(Date.now() - sent).toBeGreaterThanOrEqual(2000);
      expect(where.routing_key).toBe(`${THREE_SECONDS}${pyQueue}`);
      // inspect ping reaches both workers of the mixed fleet
      const pongs = await client.control.ping({ timeout: 3000 });
      const names = pongs.flatMap((p) => Object.keys(p));
      expect(names).toEqual(expect.arrayContaining([`${nodeQueue}@test`]));
      if (pyRemoteControl) expect(names.some((n) => n.startsWith('py-'))).toBe(true);
    } finally {
      await client.close();
    }
  });

  test('chain and chord across both workers, and a revoked countdown task, from our client', async () => {
    const client = new Celery({ broker: brokerUrl, backend: REDIS_URL, taskDefaultQueue: nodeQueue, logger: silentLogger, ...SETTINGS });
    try {
      const onPy = { queue: pyQueue };
      const onNode = { queue: nodeQueue };
      const chained = await chain(
        signature('py.add', [1, 2], {}, onNode),
        signature('py.add', [3], {}, { ...onPy, countdown: 2 }),
        signature('py.add', [4], {}, onNode),
      ).applyAsync(client);
      expect(await chained.get({ timeout: 60_000 })).toBe(10);
      const chorded = await chord(
        [signature('py.add', [1, 1], {}, onPy), signature('py.add', [2, 2], {}, onNode)],
        signature('node.tsum', [], {}, onNode),
      ).applyAsync(client);
      expect(await chorded.get({ timeout: 60_000 })).toBe(6);
      // revoked while it waits in celery_delayed_*: the Python worker refuses it on arrival
      if (!pyRemoteControl) return;
      const doomed = await client.sendTask('py.add', [1, 1], {}, { queue: pyQueue, countdown: 3 });
      await client.control.revoke(doomed.id);
      await expect(doomed.get({ timeout: 60_000 })).rejects.toThrow(/revoked|TaskRevoked/i);
    } finally {
      await client.close();
    }
  });

  test('a Python client inspects and revokes our worker: ping, active_queues (quorum), registered; a revoked countdown task never runs', async () => {
    // Celery 5.5 on RabbitMQ 4.3 has no exclusive reply queue for its client either
    if (!pyRemoteControl) return;
    const ourNode = `${nodeQueue}@test`;
    type QueueInfo = { name: string; queue_arguments: Record<string, unknown> | null };
    type Replies = Record<string, Record<string, unknown>>;
    // one Python process asks both workers: Python's answers first (validation), then ours, in the same shapes
    const asked = await controlPeer<Replies>(
      toNode,
      { op: 'inspect', commands: ['ping', 'active_queues', 'registered'], destination: [pyWorker.nodename, ourNode], timeout: 10 },
      120_000,
    ).result;
    for (const [node, queue] of [
      [pyWorker.nodename, pyQueue],
      [ourNode, nodeQueue],
    ]) {
      expect(asked.ping[node]).toEqual({ ok: 'pong' });
      expect((asked.active_queues[node] as QueueInfo[]).find((q) => q.name === queue)).toMatchObject({ queue_arguments: { 'x-queue-type': 'quorum' } });
      expect(asked.registered[node]).toEqual(expect.arrayContaining(['py.add', 'py.retry_hop']));
    }
    // a revoke Python casts before the task exists: once `inspect revoked` lists the id, the task
    // sent with it (a countdown, through celery_delayed_*) is refused on arrival; no race with its ETA
    const doomedId = randomUUID();
    const revoked = await controlPeer<Replies>(toNode, { op: 'inspect', revoke_first: doomedId, destination: [ourNode], timeout: 5, wait: 60 }, 120_000).result;
    expect(revoked.revoked[ourNode]).toContain(doomedId);
    const client = new Celery({ broker: brokerUrl, backend: REDIS_URL, taskDefaultQueue: nodeQueue, logger: silentLogger, ...SETTINGS });
    try {
      const doomed = await client.sendTask('py.add', [1, 1], {}, { taskId: doomedId, countdown: 2 });
      await expect(doomed.get({ timeout: 60_000 })).rejects.toThrow(/revoked|TaskRevoked/i);
    } finally {
      await client.close();
    }
  }, 240_000);

  test('retries through native delayed delivery: Python → Python (validation), Python → our worker, ours → ours, ours → Python', async () => {
    const twoSeconds = `${'0.'.repeat(26)}1.0.`; // kombu's calculate_routing_key for 2 s
    /** the second attempt ran on `by`'s worker, having come to `queue` through celery_delayed_* */
    const expectHop = (outcome: PythonOutcome, by: 'py' | 'node', queue: string) => {
      expect(outcome).toMatchObject({ state: 'SUCCESS', result: { by, retries: 1, routing_key: `${twoSeconds}${queue}` } });
      expect((outcome.result as { exchange: string }).exchange).toMatch(/^celery_delayed_/);
    };
    const [pyToPy, pyToNode] = await pythonClient(toPy, [
      { task: 'py.retry_hop', args: [pyQueue] },
      { task: 'py.retry_hop', args: [nodeQueue] },
    ]);
    expectHop(pyToPy, 'py', pyQueue);
    // Python's worker retried into our queue: the second attempt arrives through celery_delayed_* and runs here
    expectHop(pyToNode, 'node', nodeQueue);
    const [nodeToNode, nodeToPy] = await pythonClient(toNode, [
      { task: 'py.retry_hop', args: [nodeQueue] },
      { task: 'py.retry_hop', args: [pyQueue] },
    ]);
    expectHop(nodeToNode, 'node', nodeQueue);
    // ctx.retry({ queue }) as self.retry(queue=…): our worker sends the second attempt to Python's queue, through the delay topology
    expectHop(nodeToPy, 'py', pyQueue);
  });

  test("a classic declaration of the fleet's quorum queue is one clear error naming the option", async () => {
    const classic = new Celery({ broker: brokerUrl, backend: REDIS_URL, taskDefaultQueue: pyQueue, taskDefaultExchangeType: 'topic', logger: silentLogger });
    try {
      await classic.connect();
      const error = await classic.declareQueue(pyQueue).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(QueueMismatchError);
      expect((error as Error).message).toMatch(new RegExp(`queue '${pyQueue.replace(/\./g, '\\.')}'.*x-queue-type.*quorum.*taskDefaultQueueType`, 's'));
    } finally {
      await classic.close();
    }
  });
});
