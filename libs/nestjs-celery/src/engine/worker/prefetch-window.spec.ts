import { silentLogger } from '../../common/logger.js';
import type { Consumer, Delivery } from '../../transport/broker.interface.js';
import { MemoryBackend } from '../../transport/memory/memory.backend.js';
import { MemoryBroker } from '../../transport/memory/memory.broker.js';
import { Celery } from '../celery.js';
import { TaskAck, ackSettings } from './ack-policy.js';
import { EtaScheduler } from './eta-scheduler.js';
import { PrefetchWindow } from './prefetch-window.js';
import { Ignore, Reject } from '../../protocol/task-predicates.js';
import { Worker, type WorkerOptions } from './worker.js';

/** A Consumer that records the windows it is given. */
function recordingConsumer(): Consumer & { windows: number[] } {
  const windows: number[] = [];
  return { windows, cancel: async () => undefined, setPrefetch: (n) => void windows.push(n) };
}

/** A Delivery that records how it was settled. */
function recordingDelivery(): Delivery & { settled: string[] } {
  const settled: string[] = [];
  return {
    settled,
    message: { body: Buffer.alloc(0), contentType: 'application/json', contentEncoding: 'utf-8', headers: {}, properties: {} },
    deliveryInfo: { exchange: '', routingKey: 'q', queue: 'q', redelivered: false },
    ack: async () => void settled.push('ack'),
    reject: async (requeue) => void settled.push(`reject(${requeue})`),
  };
}

describe('PrefetchWindow', () => {
  test('set-aside messages widen the window, early-acked running tasks narrow it, never below 1', () => {
    const window = new PrefetchWindow(2);
    const consumer = recordingConsumer();
    window.attach(consumer);
    const back1 = window.setAside();
    const back2 = window.setAside();
    expect(window.size).toBe(4);
    back1();
    back1(); // idempotent
    const done1 = window.ackedEarly();
    const done2 = window.ackedEarly();
    const done3 = window.ackedEarly();
    expect(window.size).toBe(1);
    done1();
    done2();
    done3();
    back2();
    expect(consumer.windows).toEqual([3, 4, 3, 2, 1, 1, 1, 2, 3, 2]);
  });

  test('slots: at most `concurrency` at once, handed to waiters in order', async () => {
    const window = new PrefetchWindow(1);
    const order: string[] = [];
    const first = await window.acquire();
    const second = window.acquire().then((release) => (order.push('second'), release));
    const third = window.acquire().then((release) => (order.push('third'), release));
    await Promise.resolve();
    expect(order).toEqual([]);
    first();
    (await second)();
    (await third)();
    expect(order).toEqual(['second', 'third']);
    expect(window.busy).toBe(0);
  });
});

describe('EtaScheduler', () => {
  test('holds outside the window until due, then runs; releaseAll gives held messages back', async () => {
    const window = new PrefetchWindow(1);
    const scheduler = new EtaScheduler(window);
    const due = recordingDelivery();
    const far = recordingDelivery();
    let ran = false;
    const dueDone = scheduler.hold(due, new Date(Date.now() + 30), async () => void (ran = true));
    const farDone = scheduler.hold(far, new Date(Date.now() + 3_600_000), async () => undefined);
    expect(window.size).toBe(3);
    await dueDone;
    expect(ran).toBe(true);
    expect(window.size).toBe(2);
    await scheduler.releaseAll();
    await farDone;
    expect(far.settled).toEqual(['reject(true)']);
    expect(window.size).toBe(1);
    expect(scheduler.size).toBe(0);
  });
});

describe('TaskAck', () => {
  test('settings: task options over worker defaults; late ack, ack on failure, requeue on worker lost by default', () => {
    expect(ackSettings({}, {})).toEqual({ acksLate: true, acksOnFailureOrTimeout: true, rejectOnWorkerLost: true });
    expect(ackSettings({ acksLate: true }, { ackMode: 'early', acksOnFailureOrTimeout: false })).toEqual({
      acksLate: true,
      acksOnFailureOrTimeout: false,
      rejectOnWorkerLost: true,
    });
    expect(ackSettings({}, { ackMode: 'early' }).acksLate).toBe(false);
  });

  test.each([
    ['late', true, 'success', ['ack']],
    ['late', true, 'retry', ['ack']],
    ['late', true, 'failure', ['ack']],
    ['late, acksOnFailureOrTimeout false', false, 'failure', ['reject(false)']],
    ['late, acksOnFailureOrTimeout false', false, 'timeout', ['reject(false)']],
    ['late, acksOnFailureOrTimeout false', false, 'success', ['ack']],
  ] as const)('%s: %s ends with %j', async (_label, acksOnFailureOrTimeout, end, expected) => {
    const delivery = recordingDelivery();
    const ack = new TaskAck(delivery, { acksLate: true, acksOnFailureOrTimeout, rejectOnWorkerLost: true }, new PrefetchWindow(1));
    await ack.accepted();
    expect(delivery.settled).toEqual([]);
    await ack.ended(end);
    expect(delivery.settled).toEqual(expected);
  });

  test('early: acked when accepted (window narrowed meanwhile), nothing at the end', async () => {
    const delivery = recordingDelivery();
    const window = new PrefetchWindow(2);
    const ack = new TaskAck(delivery, { acksLate: false, acksOnFailureOrTimeout: true, rejectOnWorkerLost: true }, window);
    await ack.accepted();
    expect(delivery.settled).toEqual(['ack']);
    expect(window.size).toBe(1);
    await ack.ended('failure');
    expect(delivery.settled).toEqual(['ack']);
    expect(window.size).toBe(2);
  });
});

describe('ack modes and ETA in the worker (memory transport)', () => {
  let seq = 0;
  function setup(options: WorkerOptions) {
    const name = `window-spec-${process.pid}-${++seq}`;
    const app = new Celery({ broker: new MemoryBroker(`memory://${name}`), backend: new MemoryBackend(`memory://${name}`), logger: silentLogger });
    return { app, worker: new Worker(app, { logger: silentLogger, ...options }), broker: app.broker as MemoryBroker };
  }

  test.each([
    ['late', 1],
    ['early', 0],
  ] as const)('%s ack: a task running when the connection drops is redelivered %i time(s)', async (ackMode, back) => {
    const { app, worker, broker } = setup({ concurrency: 1, ackMode });
    let release!: () => void;
    const running = new Promise<void>((r) => (release = r));
    worker.register('t.block', () => new Promise<void>((r) => (release(), setTimeout(r, 50))));
    await worker.start();
    await app.sendTask('t.block');
    await running;
    await broker.close(); // the process "dies": unsettled deliveries return to the queue
    expect(broker.vhost.depth('celery')).toBe(back);
    await worker.stop(200);
  });

  test('Reject and Ignore settle the message without storing a state', async () => {
    const { app, worker, broker } = setup({ concurrency: 1 });
    let attempts = 0;
    worker.register('t.reject', () => {
      throw new Reject('not now', ++attempts < 2);
    });
    worker.register('t.ignore', () => {
      throw new Ignore();
    });
    await worker.start();
    const rejected = await app.sendTask('t.reject');
    const ignored = await app.sendTask('t.ignore');
    await new Promise((r) => setTimeout(r, 50));
    expect(attempts).toBe(2); // requeued once, then dropped
    expect([await rejected.state(), await ignored.state()]).toEqual(['PENDING', 'PENDING']);
    expect(broker.vhost.depth('celery')).toBe(0);
    await worker.stop();
    await app.close();
  });

  test('concurrency 1: a countdown task does not stop immediate tasks from running', async () => {
    const { app, worker, broker } = setup({ concurrency: 1 });
    worker.register('t.add', ([x, y]) => (x as number) + (y as number));
    await worker.start();
    const later = await app.sendTask('t.add', [1, 1], {}, { countdown: 60 });
    const now = await Promise.all([1, 2, 3].map((i) => app.sendTask('t.add', [i, 0])));
    await expect(Promise.all(now.map((r) => r.get({ timeout: 1000 })))).resolves.toEqual([1, 2, 3]);
    expect(await later.state()).toBe('PENDING');
    expect(broker.vhost.depth('celery')).toBe(0);
    await worker.stop();
    expect(broker.vhost.depth('celery')).toBe(1);
    await app.close();
  });
});

describe('PrefetchWindow with an ETA task limit (worker_eta_task_limit / worker_disable_prefetch)', () => {
  test('held messages widen the window only up to the limit; 0 never widens it', () => {
    const limited = new PrefetchWindow(2, 1);
    limited.setAside();
    limited.setAside();
    expect(limited.size).toBe(3);
    const none = new PrefetchWindow(2, 0);
    none.setAside();
    expect(none.size).toBe(2);
  });
});
