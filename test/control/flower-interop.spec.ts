/**
 * What Flower reads and sends, from real Python Celery 5.2, 5.5 and 5.6 on RabbitMQ and on Redis: one
 * Python process asks our worker and a Python worker (the reference shapes) every inspect command
 * Flower reads and sends the control commands it offers; our app.control sends the same to the Python
 * worker; then `shutdown` stops each worker (ours warm, the running task stored).
 * CI time: one Nest and one Python worker per cell, one Python process for the commands.
 */
import { expect } from '@jest/globals';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { deleteQueues } from '../support/cleanup.js';
import { eventually } from '../support/eventually.js';
import { peerSuites, startPythonWorker, type PythonEnv, type PythonWorker } from '../support/python.js';
import { AMQP_URL, REDIS_URL, uniqueName } from '../support/services.js';
import { controlPeer, removeRedisReplyQueue } from './support/python-peer.js';

const PEERS = await peerSuites('Flower remote control with Python Celery', 'redis', 'rabbitmq');

const BROKERS = [
  ['rabbitmq', AMQP_URL],
  ['redis', REDIS_URL],
] as const;

type Reply = Record<string, unknown>;
/** flower() in control_peer.py: each step's reply, per node. */
interface FlowerView {
  stats: Reply & { pool: Reply; broker: Reply; rusage: Reply };
  active_queues: Reply[];
  registered: string[];
  scheduled: unknown[];
  reserved: unknown[];
  active: unknown[];
  revoked: unknown[];
  conf: Reply;
  conf_with_defaults: Reply;
  registered_items: string[];
  query_task: Reply;
  time_limit: Reply;
  registered_limits: string[];
  time_limit_unknown: Reply;
  add_consumer: Reply;
  consuming_added: boolean;
  ran_on_added: unknown;
  cancel_consumer: Reply;
  consuming_after_cancel: boolean;
  pool_restart: Reply;
  unknown: Reply;
}

const keys = (o: object) => Object.keys(o).sort();

for (const { version, peer, describe: describeFlower } of PEERS)
  describeFlower.each(BROKERS)(`Flower's inspect and control with Python Celery ${version} over %s`, (_name, brokerUrl) => {
    const nodename = `${uniqueName('nest-fl')}@flower-test`;
    const queue = uniqueName('flower.node');
    const pyQueue = uniqueName('flower.py');
    const added = uniqueName('flower.added');
    const pyAdded = uniqueName('flower.pyadded');
    // the tests run in this order: Python drives both workers, ours drives the Python one, then each shuts the other down
    const env: PythonEnv = { broker: brokerUrl, backend: REDIS_URL, queue, peer, env: { INTEROP_EXCLUSIVE_QUEUES: '0' } };
    let app: Celery;
    let worker: Worker;
    let pyWorker: PythonWorker;

    beforeAll(async () => {
      app = new Celery({ broker: brokerUrl, backend: REDIS_URL, logger: silentLogger, controlQueueExclusive: false });
      worker = new Worker(app, { hostname: nodename, queues: [queue], concurrency: 4, logger: silentLogger, heartbeatInterval: 1 });
      worker.register('fl.add', ([x, y]) => (x as number) + (y as number));
      worker.register('fl.slow', () => new Promise((resolve) => setTimeout(() => resolve('finished'), 1500)));
      [pyWorker] = await Promise.all([startPythonWorker({ ...env, queue: pyQueue }), worker.start()]);
    });

    afterAll(async () => {
      await Promise.all([pyWorker?.stop(), worker?.stop()]);
      await app?.close();
      await deleteQueues(brokerUrl, [queue, pyQueue, added, pyAdded]);
      if (brokerUrl.startsWith('redis')) await removeRedisReplyQueue(app.control.mailbox.oid);
    });

    test("every inspect Flower reads and every control command it sends: our replies in a Python worker's shapes", async () => {
      const views = await controlPeer<Record<string, FlowerView>>(
        env,
        { op: 'flower', nodes: { [pyWorker.nodename]: { task: 'py.add', queue: pyAdded }, [nodename]: { task: 'fl.add', queue: added } } },
        240_000,
      ).result;
      const py = views[pyWorker.nodename];
      const ours = views[nodename];

      // stats: every field the Python worker gives, its pool's and broker's included, with our values
      expect(keys(ours.stats)).toEqual(keys(py.stats));
      expect(keys(ours.stats.pool)).toEqual(expect.arrayContaining(keys(py.stats.pool)));
      expect(keys(ours.stats.broker)).toEqual(expect.arrayContaining(keys(py.stats.broker).filter((k) => k !== 'credential_provider')));
      expect(keys(ours.stats.rusage)).toEqual(keys(py.stats.rusage));
      expect(ours.stats).toMatchObject({ pid: process.pid, prefetch_count: 4, total: {}, clock: expect.stringMatching(/^\d+$/), uptime: expect.any(Number) });
      expect(ours.stats.pool).toMatchObject({ 'max-concurrency': 4, processes: [process.pid], timeouts: [0, 0] });
      const { hostname, port, virtual_host, transport, ssl } = py.stats.broker;
      expect(ours.stats.broker).toMatchObject({ hostname, port, virtual_host, ssl, transport: transport === 'amqp' ? 'amqp' : 'redis' });

      // active_queues in kombu's Queue.as_dict() shape; the other lists as Python's (empty here)
      expect(keys(ours.active_queues[0])).toEqual(keys(py.active_queues[0]));
      expect(ours.active_queues.map((q) => q.name)).toEqual([queue]);
      for (const list of ['scheduled', 'reserved', 'active'] as const) expect(ours[list]).toEqual(py[list]);
      // revokes broadcast by other suites on the shared broker reach both workers, at their own times
      expect(ours.revoked).toEqual(expect.any(Array));
      expect(ours.query_task).toEqual(py.query_task);
      expect(ours.registered).toEqual(['fl.add', 'fl.slow']);
      expect(ours.registered_items).toEqual(['fl.add [name=fl.add]', 'fl.slow [name=fl.slow]']);

      // conf: the settings that differ from Celery's defaults, URLs masked as Python masks them
      expect(ours.conf).toMatchObject({ task_acks_late: true, worker_concurrency: 4 });
      expect(typeof ours.conf.broker_url).toBe(typeof py.conf.broker_url);
      expect(String(ours.conf.broker_url).includes(':guest@')).toBe(false);
      expect(ours.conf).not.toHaveProperty('worker_send_task_events');
      expect(ours.conf_with_defaults).toMatchObject({ worker_send_task_events: false, task_time_limit: null });
      // every setting we report with the defaults is one Celery has
      expect(keys(py.conf_with_defaults)).toEqual(expect.arrayContaining(keys(ours.conf_with_defaults)));

      // control commands: Celery's replies word for word, and their effect
      expect(ours.time_limit).toEqual(py.time_limit);
      expect(ours.time_limit).toEqual({ ok: 'time limits set successfully' });
      expect(ours.registered_limits).toContain('fl.add [time_limit=60 soft_time_limit=30]');
      expect(ours.time_limit_unknown).toEqual(py.time_limit_unknown);
      expect(ours.add_consumer).toEqual({ ok: `add consumer ${added}` });
      expect(py.add_consumer).toEqual({ ok: `add consumer ${pyAdded}` });
      expect(ours.consuming_added).toBe(true);
      expect(ours.ran_on_added).toBe(42);
      expect(ours.cancel_consumer).toEqual({ ok: `no longer consuming from ${added}` });
      expect(py.cancel_consumer).toEqual({ ok: `no longer consuming from ${pyAdded}` });
      expect(ours.consuming_after_cancel).toBe(false);
      expect(py).toMatchObject({ consuming_added: true, ran_on_added: 42, consuming_after_cancel: false });
      expect(ours.pool_restart).toEqual(py.pool_restart);
      expect(ours.unknown).toEqual(py.unknown);
      expect(worker.consumedQueues).toEqual([queue]);
    }, 300_000);

    test('our app.control steers a Python worker the same way: time_limit, add_consumer, cancel_consumer', async () => {
      const destination = [pyWorker.nodename];
      const inspect = app.control.inspect({ destination, timeout: 5000 });
      const consumed = async () => (await inspect.activeQueues())[pyWorker.nodename]?.map((q) => q.name) ?? [];
      expect(await app.control.timeLimit('py.add', { soft: 5, hard: 10, destination, reply: true, timeout: 5000 })).toEqual([
        { [pyWorker.nodename]: { ok: 'time limits set successfully' } },
      ]);
      expect((await inspect.registered('time_limit'))[pyWorker.nodename]).toContain('py.add [time_limit=10]');
      const extra = `${pyAdded}.ours`;
      expect(await app.control.addConsumer(extra, { destination, reply: true, timeout: 5000 })).toEqual([
        { [pyWorker.nodename]: { ok: `add consumer ${extra}` } },
      ]);
      await eventually(async () => (await consumed()).includes(extra), 'the Python worker to consume the added queue');
      await expect((await app.sendTask('py.add', [1, 2], {}, { queue: extra })).get({ timeout: 30_000 })).resolves.toBe(3);
      expect(await app.control.cancelConsumer(extra, { destination, reply: true, timeout: 5000 })).toEqual([
        { [pyWorker.nodename]: { ok: `no longer consuming from ${extra}` } },
      ]);
      await eventually(async () => !(await consumed()).includes(extra), 'the Python worker to stop consuming it');
      await deleteQueues(brokerUrl, [extra]);
    }, 120_000);

    test('shutdown from Python: no reply, the running task finishes and is stored, the worker stops answering', async () => {
      // ours to the Python worker, whose part is done: it exits meanwhile (afterAll waits for it)
      await app.control.shutdown({ destination: [pyWorker.nodename] });
      const pyExited = new Promise((resolve) => (pyWorker.process.exitCode !== null ? resolve(undefined) : pyWorker.process.once('exit', resolve)));
      const slow = await app.sendTask('fl.slow', [], {}, { queue });
      await eventually(() => worker.running.has(slow.id), 'the slow task to start');
      const replies = await controlPeer<unknown[]>(env, { op: 'shutdown', destination: [nodename], timeout: 2.0 }).result;
      expect(replies).toEqual([]);
      await expect(slow.get({ timeout: 30_000 })).resolves.toBe('finished');
      await eventually(async () => (await app.control.ping({ destination: [nodename], timeout: 300 })).length === 0, 'our worker to stop answering');
      expect(worker.running.size).toBe(0);
      await pyExited;
    }, 120_000);
  });
