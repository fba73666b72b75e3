/**
 * Remote control, events and revokes end to end on the memory transport (in-process, fast);
 * the same paths against Python Celery live in test/control and test/events.
 */
import { expect } from '@jest/globals';
import { silentLogger } from '../../common/logger.js';
import { TaskRevokedError } from '../../protocol/python-errors.js';
import { Celery } from '../celery.js';
import { EventReceiver, type ReceivedEvent } from '../events/event-receiver.js';
import type { TaskContext } from '../worker/task-context.js';
import { MAX_CONSUMED_QUEUES, Worker, type WorkerOptions } from '../worker/worker.js';
import { eventually } from '../../../../../test/support/eventually.js';

let seq = 0;

const until = (condition: () => boolean, what: string): Promise<void> => eventually(condition, what, undefined, 5);

describe('remote control and events (memory transport)', () => {
  let vhost: string;
  let app: Celery;
  const workers: Worker[] = [];
  const events: ReceivedEvent[] = [];
  let receiver: EventReceiver;

  function worker(hostname: string, options: WorkerOptions = {}): Worker {
    const w = new Worker(app, { hostname, queues: [`q-${vhost}`], logger: silentLogger, heartbeatInterval: 0.05, ...options });
    w.register('add', ([x, y]) => (x as number) + (y as number));
    w.register('wait', (_a, _k, ctx: TaskContext) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(String(ctx.signal.reason)))));
    workers.push(w);
    return w;
  }

  beforeEach(async () => {
    vhost = `ctl${++seq}`;
    app = new Celery({ broker: `memory://${vhost}`, backend: `memory://${vhost}`, logger: silentLogger });
    events.length = 0;
    receiver = new EventReceiver(app, { handlers: { '*': (e) => events.push(e) }, wakeup: false });
    await receiver.start();
  });

  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop(100);
    await receiver.stop();
    await app.close();
  });

  test('replies are addressed: destination list, glob and pcre patterns, everyone; limit and timeout', async () => {
    await Promise.all([worker('a@one').start(), worker('b@two').start()]);
    expect(await app.control.ping({ destination: ['b@two'] })).toEqual([{ 'b@two': { ok: 'pong' } }]);
    const all = await app.control.ping({ timeout: 100 });
    expect(all).toHaveLength(2);
    expect(all).toEqual(expect.arrayContaining([{ 'a@one': { ok: 'pong' } }, { 'b@two': { ok: 'pong' } }]));
    expect(await app.control.broadcast('ping', { pattern: 'a@*', reply: true, timeout: 100 })).toEqual([{ 'a@one': { ok: 'pong' } }]);
    expect(await app.control.broadcast('ping', { pattern: '.@tw', matcher: 'pcre', reply: true, timeout: 100 })).toEqual([{ 'b@two': { ok: 'pong' } }]);
    expect(await app.control.ping({ limit: 1, timeout: 5000 })).toHaveLength(1);
    expect(await app.control.ping({ destination: ['nobody@nowhere'], timeout: 50 })).toEqual([]);
  });

  test("an unknown command replies KeyError; casts get no reply; Celery's inspect shapes", async () => {
    const w = worker('a@one');
    await w.start();
    expect(await app.control.broadcast('nope', { destination: ['a@one'], reply: true })).toEqual([{ 'a@one': { error: "KeyError('nope')" } }]);
    expect(await app.control.broadcast('ping', { destination: ['a@one'] })).toEqual([]);
    const inspect = app.control.inspect({ destination: ['a@one'] });
    expect(await inspect.registered()).toEqual({ 'a@one': ['add', 'wait'] });
    expect(await inspect.registered('name', 'ignore_result')).toEqual({ 'a@one': ['add [name=add]', 'wait [name=wait]'] });
    expect((await inspect.clock())['a@one'].clock).toBeGreaterThan(0);
    expect(await inspect.report()).toEqual({ 'a@one': { ok: expect.stringContaining('nestjs-celery') } });
    // Celery's conf lists what differs from its defaults; with_defaults every setting
    const conf = (await inspect.conf())['a@one'];
    expect(conf).toMatchObject({ broker_url: `memory://${vhost}`, task_acks_late: true, worker_prefetch_multiplier: 1, worker_concurrency: 16 });
    expect(conf).not.toHaveProperty('worker_send_task_events');
    expect(conf).not.toHaveProperty('task_default_rate_limit');
    expect((await inspect.conf(true))['a@one']).toMatchObject({
      worker_send_task_events: false,
      task_time_limit: null,
      task_serializer: 'json',
      task_default_rate_limit: null,
      worker_disable_rate_limits: false,
    });
  });

  test('stats in the shape of a prefork pool; pool_restart answers as a Celery worker without pool restarts', async () => {
    const w = worker('a@one', { concurrency: 3, timeLimit: 30, softTimeLimit: 20 });
    await w.start();
    await (await app.sendTask('add', [1, 1], {}, { queue: `q-${vhost}` })).get({ timeout: 2000 });
    const stats = (await app.control.inspect({ destination: ['a@one'] }).stats())['a@one'];
    expect(stats.pool).toEqual({
      implementation: 'nestjs_celery:EventLoopPool',
      'max-concurrency': 3,
      processes: [process.pid],
      'max-tasks-per-child': 'N/A',
      'put-guarded-by-semaphore': false,
      timeouts: [20, 30],
      writes: { total: 1, avg: '1.00', all: '1.00', raw: '1', strategy: 'fair', inqueues: { total: 1, active: 0 } },
    });
    expect(stats.prefetch_count).toBe(3);
    expect(await app.control.broadcast('pool_restart', { destination: ['a@one'], reply: true })).toEqual([
      { 'a@one': { error: "ValueError('Pool restarts not enabled')" } },
    ]);
  });

  test("time_limit changes a task's limits for its next runs; an unknown task gets Celery's error", async () => {
    const w = worker('a@one');
    await w.start();
    const inspect = app.control.inspect({ destination: ['a@one'] });
    expect(await app.control.timeLimit('wait', { soft: 0.05, hard: 0.1, destination: ['a@one'], reply: true })).toEqual([
      { 'a@one': { ok: 'time limits set successfully' } },
    ]);
    expect(await app.control.timeLimit('nope', { hard: 1, destination: ['a@one'], reply: true })).toEqual([{ 'a@one': { error: 'unknown task' } }]);
    expect((await inspect.registered('time_limit', 'soft_time_limit'))['a@one']).toContain('wait [time_limit=0.1 soft_time_limit=0.05]');
    // 'wait' runs until aborted: the soft limit aborts it now
    const limited = await app.sendTask('wait', [], {}, { queue: `q-${vhost}` });
    await expect(limited.get({ timeout: 2000 })).resolves.toEqual(expect.stringContaining('SoftTimeLimitExceeded'));
    expect(await app.control.timeLimit('wait', { destination: ['a@one'], reply: true })).toEqual([{ 'a@one': { ok: 'time limits set successfully' } }]);
    expect((await inspect.registered('time_limit'))['a@one']).toContain('wait');
  });

  test('add_consumer and cancel_consumer change the queues consumed while running', async () => {
    const w = worker('a@one');
    await w.start();
    const other = `other-${vhost}`;
    const inspect = app.control.inspect({ destination: ['a@one'] });
    expect(await app.control.addConsumer(other, { destination: ['a@one'], reply: true })).toEqual([{ 'a@one': { ok: `add consumer ${other}` } }]);
    await until(() => w.consumedQueues.includes(other), 'the new consumer');
    expect((await inspect.activeQueues())['a@one'].map((q) => q.name)).toEqual([`q-${vhost}`, other]);
    await expect((await app.sendTask('add', [2, 3], {}, { queue: other })).get({ timeout: 2000 })).resolves.toBe(5);
    await expect((await app.sendTask('add', [2, 4], {}, { queue: `q-${vhost}` })).get({ timeout: 2000 })).resolves.toBe(6);
    expect(await app.control.cancelConsumer(other, { destination: ['a@one'], reply: true })).toEqual([
      { 'a@one': { ok: `no longer consuming from ${other}` } },
    ]);
    await until(() => !w.consumedQueues.includes(other), 'the consumer to go');
    expect((await inspect.activeQueues())['a@one'].map((q) => q.name)).toEqual([`q-${vhost}`]);
    // a task sent there now waits for whoever consumes the queue next
    const waiting = await app.sendTask('add', [1, 6], {}, { queue: other });
    const b = new Worker(app, { hostname: 'b@two', queues: [other], logger: silentLogger });
    b.register('add', ([x, y]) => `b:${(x as number) + (y as number)}`);
    workers.push(b);
    await b.start();
    await expect(waiting.get({ timeout: 2000 })).resolves.toBe('b:7');
    // every queue cancelled, then one added again: the worker consumes it
    await app.control.cancelConsumer(`q-${vhost}`, { destination: ['a@one'], reply: true });
    await until(() => w.consumedQueues.length === 0, 'no queue consumed');
    await app.control.addConsumer(`q-${vhost}`, { destination: ['a@one'], reply: true });
    await until(() => w.consumedQueues.length === 1, 'the queue consumed again');
    await expect((await app.sendTask('add', [4, 4], {}, { queue: `q-${vhost}` })).get({ timeout: 2000 })).resolves.toBe(8);
    expect(await app.control.addConsumer('x'.repeat(256), { destination: ['a@one'], reply: true })).toEqual([
      { 'a@one': { error: expect.stringContaining('queue must be a name of 1 to 255 characters') } },
    ]);
    // bounded: past MAX_CONSUMED_QUEUES the worker refuses (a log line) and goes on with the others
    for (let i = 0; i < MAX_CONSUMED_QUEUES + 5; i++) await app.control.addConsumer(`many-${i}-${vhost}`, { destination: ['a@one'] });
    await until(() => w.consumedQueues.length === MAX_CONSUMED_QUEUES, 'the queues to be added');
    expect(await app.control.ping({ destination: ['a@one'] })).toEqual([{ 'a@one': { ok: 'pong' } }]);
    expect(w.consumedQueues).toHaveLength(MAX_CONSUMED_QUEUES);
    await expect((await app.sendTask('add', [3, 3], {}, { queue: `q-${vhost}` })).get({ timeout: 2000 })).resolves.toBe(6);
  });

  test('shutdown: no reply, the worker finishes what runs, stores it and goes offline; a workerShutdown observer hears it', async () => {
    const shutdowns: string[] = [];
    // the worker's own app, with an observer (an app would exit the process there)
    const own = new Celery({
      broker: `memory://${vhost}`,
      backend: `memory://${vhost}`,
      logger: silentLogger,
      signals: [{ workerShutdown: (w) => shutdowns.push(w.hostname) }],
    });
    const w = new Worker(own, { hostname: 'a@one', queues: [`q-${vhost}`], logger: silentLogger, heartbeatInterval: 0.05 });
    workers.push(w);
    w.register('slow', () => new Promise((resolve) => setTimeout(() => resolve('done'), 200)));
    await w.start();
    const slow = await app.sendTask('slow', [], {}, { queue: `q-${vhost}` });
    await until(() => w.running.has(slow.id), 'the task to start');
    expect(await app.control.broadcast('shutdown', { destination: ['a@one'], reply: true, timeout: 300 })).toEqual([]);
    await until(() => events.some((e) => e.type === 'worker-offline' && e.hostname === 'a@one'), 'worker-offline');
    await expect(slow.get({ timeout: 2000 })).resolves.toBe('done');
    expect(await app.control.ping({ destination: ['a@one'], timeout: 100 })).toEqual([]);
    expect(shutdowns).toEqual(['a@one']);
    await own.close();
  });

  test('inspect active / scheduled / query_task / stats follow the tasks', async () => {
    const w = worker('a@one', { sendTaskEvents: true });
    await w.start();
    const inspect = app.control.inspect({ destination: ['a@one'] });
    const running = await app.sendTask('wait', [], {}, { queue: `q-${vhost}` });
    const later = await app.sendTask('add', [1, 2], {}, { queue: `q-${vhost}`, countdown: 30 });
    await until(() => w.running.has(running.id) && w.node.state.scheduledInfo().length === 1, 'the tasks to arrive');
    const [active] = (await inspect.active())['a@one'];
    expect(active).toMatchObject({
      id: running.id,
      name: 'wait',
      type: 'wait',
      args: [],
      kwargs: {},
      hostname: 'a@one',
      worker_pid: process.pid,
      acknowledged: false,
    });
    expect(active.time_start).toBeCloseTo(Date.now() / 1000, -1);
    expect((await inspect.active(true))['a@one'][0]).toMatchObject({ args: '()', kwargs: '{}' });
    expect((await inspect.scheduled())['a@one']).toEqual([
      { eta: expect.stringMatching(/\+00:00$/), priority: 6, request: expect.objectContaining({ id: later.id, time_start: null }) },
    ]);
    expect((await inspect.reserved())['a@one']).toEqual([]);
    expect((await inspect.queryTask(running.id, 'unknown-id'))['a@one']).toEqual({ [running.id]: ['active', expect.objectContaining({ id: running.id })] });
    // the window as the broker applies it: the held ETA task widened it by one (Celery's qos.increment_eventually)
    expect((await inspect.stats())['a@one']).toMatchObject({ total: { wait: 1 }, pid: process.pid, prefetch_count: 17, pool: { 'max-concurrency': 16 } });
    await app.control.revoke([running.id, later.id], { terminate: true });
    await expect(running.get({ timeout: 2000 })).rejects.toMatchObject({ state: 'REVOKED', excMessage: ['terminated'] });
  });

  test('revoke: a scheduled task is skipped at its ETA, REVOKED stored and task-revoked sent; the ids are listed', async () => {
    const w = worker('a@one', { sendTaskEvents: true });
    await w.start();
    const result = await app.sendTask('add', [1, 2], {}, { queue: `q-${vhost}`, countdown: 0.3 });
    await until(() => w.node.state.scheduledInfo().length === 1, 'the task to be scheduled');
    expect(await app.control.revoke(result.id, { reply: true, destination: ['a@one'] })).toEqual([
      { 'a@one': { ok: `tasks ${result.id} flagged as revoked` } },
    ]);
    await expect(result.get({ timeout: 2000 })).rejects.toMatchObject({ state: 'REVOKED', excType: 'TaskRevokedError', excMessage: ['revoked'] });
    expect(await app.control.inspect({ destination: ['a@one'] }).revoked()).toEqual({ 'a@one': [result.id] });
    await until(() => events.some((e) => e.type === 'task-revoked'), 'task-revoked');
    expect(events.find((e) => e.type === 'task-revoked')).toMatchObject({ uuid: result.id, terminated: false, signum: null, expired: false });
    expect(events.filter((e) => e.uuid === result.id).map((e) => e.type)).toEqual(['task-received', 'task-revoked']);
  });

  test('an expired task joins the revoked ids and its task-revoked says expired', async () => {
    const w = worker('a@one', { sendTaskEvents: true });
    await w.start();
    const result = await app.sendTask('add', [1, 2], {}, { queue: `q-${vhost}`, expires: new Date(Date.now() - 1000) });
    await expect(result.get({ timeout: 2000 })).rejects.toMatchObject({ state: 'REVOKED', excMessage: ['expired'] });
    expect(w.node.state.revoked.has(result.id)).toBe(true);
    await until(() => events.some((e) => e.type === 'task-revoked'), 'task-revoked');
    expect(events.find((e) => e.type === 'task-revoked')).toMatchObject({ uuid: result.id, expired: true, terminated: false });
  });

  test('terminate aborts the running handler with TaskRevokedError; its outcome is discarded and the worker goes on (early ack too)', async () => {
    const reasons: unknown[] = [];
    const w = worker('a@one', { sendTaskEvents: true, ackMode: 'early', concurrency: 1 });
    w.register('stubborn', (_a, _k, ctx: TaskContext) => {
      ctx.signal.addEventListener('abort', () => reasons.push(ctx.signal.reason));
      return new Promise((resolve) => setTimeout(() => resolve('finished anyway'), 150));
    });
    await w.start();
    const result = await app.sendTask('stubborn', [], {}, { queue: `q-${vhost}` });
    await until(() => w.running.has(result.id), 'the task to start');
    expect(await app.control.terminate(result.id, { reply: true, destination: ['a@one'], signal: 'KILL' })).toEqual([
      { 'a@one': { ok: `terminate: ${result.id}` } },
    ]);
    await expect(result.get({ timeout: 2000 })).rejects.toMatchObject({ state: 'REVOKED', excMessage: ['terminated'] });
    expect(reasons).toEqual([expect.any(TaskRevokedError)]);
    await new Promise((r) => setTimeout(r, 200));
    expect(await result.state()).toBe('REVOKED');
    // concurrency 1: the slot came back
    await expect((await app.sendTask('add', [2, 3], {}, { queue: `q-${vhost}` })).get({ timeout: 2000 })).resolves.toBe(5);
    expect(events.find((e) => e.type === 'task-revoked')).toMatchObject({ uuid: result.id, terminated: true, signum: 9, expired: false });
    expect(await app.control.revoke('not-here', { terminate: true, reply: true, destination: ['a@one'] })).toEqual([
      { 'a@one': { ok: 'terminate: tasks unknown' } },
    ]);
    expect(await app.control.revoke('x', { terminate: true, signal: 'term', reply: true, destination: ['a@one'] })).toEqual([
      { 'a@one': { error: "TypeError('signal name must be uppercase string.')" } },
    ]);
  });

  test('worker events: online, heartbeats with counts, offline; task events only with sendTaskEvents or enable_events', async () => {
    const w = worker('a@one');
    await w.start();
    await (await app.sendTask('add', [1, 1], {}, { queue: `q-${vhost}` })).get({ timeout: 2000 });
    await until(() => events.some((e) => e.type === 'worker-heartbeat' && e.processed === 1), 'a heartbeat counting the task');
    expect(events.some((e) => e.type.startsWith('task-'))).toBe(false);
    expect(await app.control.enableEvents({ reply: true, destination: ['a@one'] })).toEqual([{ 'a@one': { ok: 'task events enabled' } }]);
    const second = await app.sendTask('add', [2, 2], {}, { queue: `q-${vhost}` });
    await second.get({ timeout: 2000 });
    await until(() => events.some((e) => e.type === 'task-succeeded'), 'task-succeeded');
    expect(await app.control.disableEvents({ reply: true, destination: ['a@one'] })).toEqual([{ 'a@one': { ok: 'task events disabled' } }]);
    await w.stop();
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('worker-online');
    expect(types[types.length - 1]).toBe('worker-offline');
    expect(events.filter((e) => e.uuid === second.id).map((e) => e.type)).toEqual(['task-received', 'task-started', 'task-succeeded']);
    expect(events.find((e) => e.type === 'worker-heartbeat')).toMatchObject({
      hostname: 'a@one',
      freq: 0.05,
      sw_ident: 'nestjs-celery',
      active: expect.any(Number),
    });
  });

  test('withoutHeartbeat sends no worker events; enableRemoteControl: false answers nothing', async () => {
    const w = worker('quiet@one', { withoutHeartbeat: true, enableRemoteControl: false });
    await w.start();
    await (await app.sendTask('add', [1, 1], {}, { queue: `q-${vhost}` })).get({ timeout: 2000 });
    expect(await app.control.ping({ destination: ['quiet@one'], timeout: 100 })).toEqual([]);
    await w.stop();
    expect(events.filter((e) => e.hostname === 'quiet@one')).toEqual([]);
  });

  test('mingle: a starting worker takes the revoked ids and clock of the others', async () => {
    const a = worker('a@one');
    await a.start();
    await app.control.revoke(['r1', 'r2'], { reply: true, destination: ['a@one'] });
    const b = worker('b@two', { mingle: true });
    await b.start();
    expect(b.node.state.revoked.ids()).toEqual(expect.arrayContaining(['r1', 'r2']));
  });
});
