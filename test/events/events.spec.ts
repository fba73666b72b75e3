/**
 * Monitoring events against real Python Celery 5.2, 5.5 and 5.6 (every version the README claims), on RabbitMQ and on Redis: Python's
 * EventReceiver and events State (what `celery events` and Flower run on) see our worker come
 * online, heartbeat, run tasks and go offline; our EventReceiver reads a Python worker's events.
 */
import { expect } from '@jest/globals';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { EventReceiver, type ReceivedEvent } from '../../libs/nestjs-celery/src/engine/events/event-receiver.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { ValueError } from '../../libs/nestjs-celery/src/protocol/python-errors.js';
import { celeryCli, controlPeer, removeRedisReplyQueue } from '../control/support/python-peer.js';
import { waitFor } from '../e2e/support/wait-for.js';
import { deleteQueues } from '../support/cleanup.js';
import { peerSuites, startPythonWorker, type PythonEnv } from '../support/python.js';
import { AMQP_URL, REDIS_URL, uniqueName } from '../support/services.js';

const PEERS = await peerSuites('events with Python Celery', 'redis', 'rabbitmq');

const BROKERS = [
  ['rabbitmq', AMQP_URL],
  ['redis', REDIS_URL],
] as const;

type PyEvent = Record<string, unknown> & { type: string; clock: number; timestamp: number };
/** celery.events.state's Worker and Task as Flower reads them (worker_view() in control_peer.py). */
interface WorkerView {
  alive: boolean;
  processed: number;
  active: number;
  freq: number;
  pid: number;
  clock: number;
  loadavg: number[];
  sw_ident: string;
  sw_ver: string;
  sw_sys: string;
  status_string: string;
  heartbeats: number;
  tasks: Record<string, Record<string, unknown> & { state: string; name: string; result: string | null; exception: string | null }>;
}
interface Captured {
  events: PyEvent[];
  alive_snapshot: WorkerView | null;
  final: WorkerView | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const { version, peer, describe: describeEvents } of PEERS)
  describeEvents.each(BROKERS)(`events with Python Celery ${version} over %s`, (_name, brokerUrl) => {
    const queue = uniqueName('events.node');
    const pyQueue = uniqueName('events.py');
    const env: PythonEnv = { broker: brokerUrl, backend: REDIS_URL, queue, peer };
    const apps: Celery[] = [];

    function newWorker(hostname: string, options: ConstructorParameters<typeof Worker>[1] = {}): { app: Celery; worker: Worker } {
      const app = new Celery({ broker: brokerUrl, backend: REDIS_URL, logger: silentLogger });
      apps.push(app);
      const worker = new Worker(app, { hostname, queues: [queue], logger: silentLogger, heartbeatInterval: 0.5, ...options });
      worker.register('ev.add', ([x, y]) => (x as number) + (y as number));
      worker.register('ev.fail', ([message]) => {
        throw new ValueError(message);
      });
      return { app, worker };
    }

    afterAll(async () => {
      for (const app of apps) {
        await app.close();
        if (brokerUrl.startsWith('redis')) await removeRedisReplyQueue(app.control.mailbox.oid);
      }
      await deleteQueues(brokerUrl, [queue, pyQueue]);
    });

    test('Python EventReceiver and State see our worker come online, heartbeat, run tasks and go offline', async () => {
      const hostname = `${uniqueName('nest-ev')}@events-test`;
      const peer = controlPeer<Captured>(env, { op: 'events', hostname, seconds: 90, until: 'worker-offline' }, 120_000);
      await peer.ready;
      const { app, worker } = newWorker(hostname, { sendTaskEvents: true });
      await worker.start();
      const ok = await app.sendTask('ev.add', [1, 2], {}, { queue });
      const bad = await app.sendTask('ev.fail', ['boom'], {}, { queue });
      await expect(ok.get({ timeout: 10_000 })).resolves.toBe(3);
      await expect(bad.get({ timeout: 10_000 })).rejects.toMatchObject({ excType: 'ValueError' });
      // heartbeats after the tasks (processed = 2), seen by a receiver of ours (no wakeup: its answer has freq 5), before the worker goes offline
      const beats: ReceivedEvent[] = [];
      const watcher = new EventReceiver(app, { handlers: { 'worker-heartbeat': (e) => beats.push(e) }, logger: silentLogger, wakeup: false });
      await watcher.start();
      const ours = () => beats.filter((e) => e.hostname === hostname);
      await waitFor(() => ours().length >= 2 && ours().some((e) => e.processed === 2), 30_000, 'two heartbeats, one with processed = 2');
      await watcher.stop();
      await worker.stop();
      const { events, alive_snapshot, final } = await peer.result;

      const types = events.map((e) => e.type);
      expect(types[0]).toBe('worker-online');
      expect(types[types.length - 1]).toBe('worker-offline');
      expect(types.filter((t) => t === 'worker-heartbeat').length).toBeGreaterThanOrEqual(2);
      const ofTask = (id: string) => events.filter((e) => e.uuid === id).map((e) => e.type);
      expect(ofTask(ok.id)).toEqual(['task-received', 'task-started', 'task-succeeded']);
      expect(ofTask(bad.id)).toEqual(['task-received', 'task-started', 'task-failed']);

      // bodies as Celery writes them; the Lamport clock only moves forward
      const clocks = events.map((e) => e.clock);
      expect([...clocks].sort((a, b) => a - b)).toEqual(clocks);
      const heartbeat = events.find((e) => e.type === 'worker-heartbeat')!;
      expect(heartbeat).toMatchObject({
        hostname,
        pid: process.pid,
        freq: 0.5,
        sw_ident: 'nestjs-celery',
        sw_sys: expect.any(String),
        sw_ver: expect.any(String),
      });
      expect(heartbeat.utcoffset).toBe(Math.floor(new Date().getTimezoneOffset() / 60));
      expect(heartbeat.loadavg).toEqual([expect.any(Number), expect.any(Number), expect.any(Number)]);
      expect(Math.abs(heartbeat.timestamp - Date.now() / 1000)).toBeLessThan(60);
      const received = events.find((e) => e.type === 'task-received' && e.uuid === ok.id)!;
      expect(received).toMatchObject({ name: 'ev.add', args: '(1, 2)', kwargs: '{}', root_id: ok.id, parent_id: null, retries: 0, eta: null, expires: null });
      expect(events.find((e) => e.type === 'task-succeeded')).toMatchObject({ uuid: ok.id, result: '3', runtime: expect.any(Number) });
      const failed = events.find((e) => e.type === 'task-failed')!;
      expect(failed).toMatchObject({ uuid: bad.id, exception: "ValueError('boom')" });
      expect(failed.traceback).toEqual(expect.stringContaining('ValueError'));

      // Flower's view (celery.events.state.State): alive while heartbeating, with its counts
      expect(alive_snapshot).toMatchObject({
        alive: true,
        status_string: 'ONLINE',
        processed: 2,
        active: 0,
        freq: 0.5,
        pid: process.pid,
        clock: expect.any(Number),
        sw_ident: 'nestjs-celery',
        sw_ver: heartbeat.sw_ver,
        sw_sys: heartbeat.sw_sys,
      });
      expect(alive_snapshot!.loadavg).toEqual([expect.any(Number), expect.any(Number), expect.any(Number)]);
      expect(final).toMatchObject({ alive: false, status_string: 'OFFLINE' });
      // the task page: what it was, where and when it ran, how it ended
      const when = expect.any(Number);
      expect(final!.tasks[ok.id]).toEqual({
        state: 'SUCCESS',
        name: 'ev.add',
        args: '(1, 2)',
        kwargs: '{}',
        retries: 0,
        eta: null,
        expires: null,
        root_id: ok.id,
        parent_id: null,
        received: when,
        started: when,
        succeeded: when,
        failed: null,
        runtime: expect.any(Number),
        result: '3',
        exception: null,
        traceback: null,
        worker: hostname,
        ready: true,
      });
      expect(final!.tasks[ok.id].runtime as number).toBeGreaterThanOrEqual(0);
      expect(final!.tasks[bad.id]).toMatchObject({
        state: 'FAILURE',
        name: 'ev.fail',
        args: "('boom',)",
        exception: "ValueError('boom')",
        traceback: expect.stringContaining('ValueError'),
        failed: when,
        worker: hostname,
        ready: true,
      });
    }, 150_000);

    test('without sendTaskEvents only worker events go out; `celery control heartbeat` gets a heartbeat at once', async () => {
      const hostname = `${uniqueName('nest-ev')}@events-test`;
      const quiet = `${uniqueName('nest-quiet')}@events-test`;
      const { app, worker } = newWorker(hostname);
      const { worker: silent } = newWorker(quiet, { withoutHeartbeat: true });
      await Promise.all([worker.start(), silent.start()]);
      // listens until the answer to `control heartbeat` (freq 5) arrives: a slow CLI start on a loaded machine cannot outlast it
      const peer = controlPeer<Captured>(env, { op: 'events', hostname, seconds: 90, until: 'worker-heartbeat', until_freq: 5 }, 120_000);
      await peer.ready;
      const result = await app.sendTask('ev.add', [2, 2], {}, { queue });
      await result.get({ timeout: 10_000 });
      // the receiver's own wakeup broadcast goes out before kombu's Redis transport has subscribed,
      // so it can miss the answer (Python workers' too): ask again once it listens
      await sleep(300);
      const asked = await celeryCli(env, ['control', 'heartbeat', '-d', hostname, '-j']);
      expect(JSON.parse(asked.stdout)).toEqual([{ [hostname]: null }]);
      const { events } = await peer.result;
      await Promise.all([worker.stop(), silent.stop()]);
      expect(events.length).toBeGreaterThan(0);
      expect(events.every((e) => e.type.startsWith('worker-'))).toBe(true);
      // the `heartbeat` command's answer has freq 5 and no counts (celery/worker/control.py)
      expect(events).toContainEqual(expect.objectContaining({ type: 'worker-heartbeat', freq: 5, sw_ident: 'nestjs-celery' }));
      expect(events.find((e) => e.type === 'worker-heartbeat' && e.freq === 5)).not.toHaveProperty('processed');
    }, 150_000);

    test('task events switched on at runtime with enable_events reach Python', async () => {
      const hostname = `${uniqueName('nest-ev')}@events-test`;
      const { app, worker } = newWorker(hostname);
      await worker.start();
      const replies = await app.control.enableEvents({ destination: [hostname], reply: true });
      expect(replies).toEqual([{ [hostname]: { ok: 'task events enabled' } }]);
      const peer = controlPeer<Captured>(env, { op: 'events', hostname, seconds: 45, until: 'task-succeeded' });
      await peer.ready;
      const result = await app.sendTask('ev.add', [3, 4], {}, { queue });
      await result.get({ timeout: 10_000 });
      const { events } = await peer.result;
      await worker.stop();
      expect(events.filter((e) => e.uuid === result.id).map((e) => e.type)).toEqual(['task-received', 'task-started', 'task-succeeded']);
    }, 60_000);

    test("our EventReceiver reads a Python worker's events, task.multi lists included", async () => {
      const pyWorker = await startPythonWorker({ ...env, queue: pyQueue }, ['-E']);
      const app = new Celery({ broker: brokerUrl, backend: REDIS_URL, logger: silentLogger });
      apps.push(app);
      const seen: ReceivedEvent[] = [];
      // the routing keys of the messages the receiver consumes: Python buffers task events into task.multi lists
      const routingKeys: string[] = [];
      const consume = app.broker.consume.bind(app.broker);
      app.broker.consume = (queues, options, onDelivery) =>
        consume(queues, options, (delivery) => {
          routingKeys.push(delivery.deliveryInfo.routingKey);
          onDelivery(delivery);
        });
      const receiver = new EventReceiver(app, { handlers: { '*': (e) => seen.push(e) }, logger: silentLogger });
      try {
        await receiver.start();
        const result = await app.sendTask('py.add', [20, 22], {}, { queue: pyQueue });
        expect(await result.get({ timeout: 15_000 })).toBe(42);
        await waitFor(() => seen.some((e) => e.type === 'task-succeeded' && e.uuid === result.id), undefined, 'task-succeeded from Python');
        const ofTask = seen.filter((e) => e.uuid === result.id);
        expect(ofTask.map((e) => e.type)).toEqual(['task-received', 'task-started', 'task-succeeded']);
        expect(ofTask[2]).toMatchObject({ result: '42', hostname: expect.stringMatching(/^py-/), local_received: expect.any(Number) });
        expect(routingKeys).toContain('task.multi');
        // wakeup: our receiver's heartbeat broadcast was answered with a freq-5 heartbeat
        await waitFor(
          () => seen.some((e) => e.type === 'worker-heartbeat' && e.freq === 5 && String(e.hostname).startsWith('py-')),
          undefined,
          "the Python worker's heartbeat",
        );
      } finally {
        await receiver.stop();
        await pyWorker.stop();
      }
    }, 60_000);
  });
