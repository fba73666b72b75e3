/**
 * Prefetch, ack modes, ETA holding and unknown-task policies on the real brokers (RabbitMQ and
 * Redis, Redis results), inspected from the broker's side: rabbitmqctl for ready/unacked counts
 * on RabbitMQ, LLEN and kombu's unacked hash on Redis.
 */
import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { silentLogger, type CeleryLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker, type WorkerOptions } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { RedisBroker, type RedisBrokerOptions } from '../../libs/nestjs-celery/src/transport/redis/broker/redis.broker.js';
import { deleteAmqpQueues } from '../support/cleanup.js';
import { AMQP_URL, REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';
import { eventually } from '../support/eventually.js';

const describeOps = await describeIfAvailable('worker ops on real brokers', 'redis', 'rabbitmq');
const run = promisify(execFile);
// every RabbitMQ count is a rabbitmqctl run (an Erlang VM start, ~1 s on a 2-core machine, more
// under the parallel suites): a test reading a few of them cannot fit Jest's default 5 s
jest.setTimeout(30_000);

/** Reads a queue's state from the broker itself. */
interface BrokerSide {
  app(options?: RedisBrokerOptions): Celery;
  /** messages waiting in the queue */
  ready(queue: string): Promise<number>;
  /** messages delivered to a consumer and not settled */
  unacked(queue: string): Promise<number>;
  /** both at once (on RabbitMQ one rabbitmqctl call, about a second each, instead of two) */
  counts(queue: string): Promise<{ ready: number; unacked: number }>;
  cleanup(queues: string[]): Promise<void>;
}

function rabbitmq(): BrokerSide {
  const counts = async (queue: string) => {
    const { stdout } = await run('rabbitmqctl', ['list_queues', 'name', 'messages_ready', 'messages_unacknowledged', '--no-table-headers', '--quiet']);
    const line = stdout.split('\n').find((l) => l.split('\t')[0] === queue);
    const [, ready, unacked] = (line ?? `${queue}\t0\t0`).split('\t');
    return { ready: Number(ready), unacked: Number(unacked) };
  };
  return {
    app: () => new Celery({ broker: AMQP_URL, backend: REDIS_URL, logger: silentLogger }),
    ready: async (q) => (await counts(q)).ready,
    unacked: async (q) => (await counts(q)).unacked,
    counts,
    cleanup: (queues) => deleteAmqpQueues(queues),
  };
}

function redis(): BrokerSide {
  // kombu's unacked hash is per DB: a key prefix of our own keeps other suites' deliveries out of it
  const prefix = `${uniqueName('ops')}:`;
  const client = new Redis(REDIS_URL);
  const side: BrokerSide = {
    app: (options = {}) =>
      new Celery({
        broker: new RedisBroker(REDIS_URL, { globalKeyprefix: prefix, logger: silentLogger, ...options }),
        backend: REDIS_URL,
        logger: silentLogger,
      }),
    ready: (q) => client.llen(`${prefix}${q}`),
    unacked: async (q) => {
      const entries = Object.values(await client.hgetall(`${prefix}unacked`));
      // [envelope, exchange, routing_key]: tasks are published with routing key = queue
      return entries.filter((e) => (JSON.parse(e) as unknown[])[2] === q).length;
    },
    cleanup: async () => {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length) await client.del(...keys);
      client.disconnect();
    },
    counts: async (q) => ({ ready: await side.ready(q), unacked: await side.unacked(q) }),
  };
  return side;
}

/** Poll until `check` holds (or fail with what it last saw). */
async function until<T>(probe: () => Promise<T> | T, check: (v: T) => boolean): Promise<T> {
  let last: T | undefined;
  await eventually(async () => check((last = await probe())), 'the broker-side counts', undefined, 25).catch((err: Error) => {
    throw new Error(`${err.message}; last value: ${JSON.stringify(last)}`);
  });
  return last as T;
}

/** Handlers that wait until released. */
class Gate {
  private opened = false;
  private waiters: (() => void)[] = [];
  running = 0;
  maxRunning = 0;
  async pass(): Promise<void> {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    if (!this.opened) await new Promise<void>((r) => this.waiters.push(r));
    this.running--;
  }
  open(): void {
    this.opened = true;
    for (const w of this.waiters.splice(0)) w();
  }
}

function recording(): CeleryLogger & { lines: string[] } {
  const lines: string[] = [];
  const push = (m: string) => void lines.push(m);
  return { lines, log: push, warn: push, error: push, debug: () => undefined };
}

const SIDES = [
  ['rabbitmq', rabbitmq],
  ['redis', redis],
] as const;

describeOps.each(SIDES)('worker ops on %s (Redis results)', (name, makeSide) => {
  const side = makeSide();
  const queues: string[] = [];
  const started: { app: Celery; worker: Worker }[] = [];

  const queue = (label: string) => {
    const q = uniqueName(`ops.${label}`);
    queues.push(q, `${q}.dead-letter`);
    return q;
  };

  async function startWorker(q: string, options: WorkerOptions, register: (w: Worker) => void, brokerOptions?: RedisBrokerOptions) {
    const app = side.app(brokerOptions);
    const worker = new Worker(app, { queues: [q], logger: silentLogger, ...options });
    register(worker);
    await worker.start();
    started.push({ app, worker });
    return { app, worker };
  }

  afterEach(async () => {
    for (const { app, worker } of started.splice(0)) {
      await worker.stop(500);
      await app.close();
    }
  });

  afterAll(async () => {
    await side.cleanup(queues);
  });

  test('prefetch = concurrency: a worker with concurrency 2 holds exactly 2 and the queue keeps the rest', async () => {
    const q = queue('prefetch');
    const gate = new Gate();
    const { app } = await startWorker(q, { concurrency: 2 }, (w) => w.register('ops.block', () => gate.pass().then(() => 'done')));
    const results = await Promise.all(Array.from({ length: 5 }, () => app.sendTask('ops.block', [], {}, { queue: q })));
    await until(
      () => gate.running,
      (n) => n === 2,
    );
    await new Promise((r) => setTimeout(r, 300)); // room for a wrong extra delivery to show up
    expect(await side.counts(q)).toEqual({ unacked: 2, ready: 3 });
    gate.open();
    await expect(Promise.all(results.map((r) => r.get({ timeout: 5000 })))).resolves.toEqual(Array(5).fill('done'));
    expect(gate.maxRunning).toBe(2);
  });

  test('late ack (default): a running task stays unacked; early ack: acked as it starts, one more reserved at most', async () => {
    for (const ackMode of ['late', 'early'] as const) {
      const q = queue(`ack-${ackMode}`);
      const gate = new Gate();
      const { app } = await startWorker(q, { concurrency: 1, ackMode }, (w) => w.register('ops.block', () => gate.pass()));
      const results = await Promise.all(Array.from({ length: 3 }, () => app.sendTask('ops.block', [], {}, { queue: q })));
      await until(
        () => gate.running,
        (n) => n === 1,
      );
      await new Promise((r) => setTimeout(r, 300));
      // late: the running one is unacked, two wait in the queue; early: the running one is acked,
      // the next is reserved unacked (an AMQP window cannot be 0), one waits in the queue
      expect({ ackMode, ...(await side.counts(q)) }).toEqual({ ackMode, unacked: 1, ready: ackMode === 'late' ? 2 : 1 });
      gate.open();
      await Promise.all(results.map((r) => r.get({ timeout: 5000 })));
      expect(gate.maxRunning).toBe(1);
    }
  });

  test('an ETA task is held unacked without blocking others (concurrency 1), and given back at stop', async () => {
    const q = queue('eta');
    const { app, worker } = await startWorker(q, { concurrency: 1 }, (w) => w.register('ops.add', ([x, y]) => (x as number) + (y as number)));
    const later = await app.sendTask('ops.add', [1, 1], {}, { queue: q, countdown: 30 });
    await until(
      () => side.unacked(q),
      (n) => n === 1,
    );
    const now = await Promise.all([1, 2, 3].map((i) => app.sendTask('ops.add', [i, 10], {}, { queue: q })));
    await expect(Promise.all(now.map((r) => r.get({ timeout: 5000 })))).resolves.toEqual([11, 12, 13]);
    expect(await later.state()).toBe('PENDING');
    // the ack follows the stored result, so the last immediate task's ack may still be on its way
    expect(
      await until(
        () => side.unacked(q),
        (n) => n === 1,
      ),
    ).toBe(1);
    expect(await side.ready(q)).toBe(0);
    await worker.stop(500);
    expect(
      await until(
        () => side.ready(q),
        (n) => n === 1,
      ),
    ).toBe(1);
  });

  test('unknown task, reject (default): FAILURE NotRegistered, nothing left in the queue', async () => {
    const q = queue('unknown-reject');
    const { app } = await startWorker(q, {}, () => undefined);
    const result = await app.sendTask('ops.nobody', [], {}, { queue: q });
    await expect(result.get({ timeout: 5000 })).rejects.toMatchObject({ excType: 'NotRegistered', excModule: 'celery.exceptions', excMessage: ['ops.nobody'] });
    expect(await side.ready(q)).toBe(0);
    expect(await side.unacked(q)).toBe(0);
  });

  test('unknown task, requeue: bounces with backoff (not hot) until a worker that has the task gets it', async () => {
    const q = queue('unknown-requeue');
    const logger = recording();
    const { app } = await startWorker(q, { unknownTask: 'requeue', unknownTaskBackoffMs: { initialMs: 100, maxMs: 400 }, logger }, () => undefined);
    const result = await app.sendTask('ops.add', [2, 3], {}, { queue: q });
    await new Promise((r) => setTimeout(r, 1500));
    const sightings = logger.lines.filter((l) => l.includes(result.id)).map((l) => Number(/seen (\d+) time/.exec(l)?.[1]));
    expect(sightings[0]).toBe(1);
    // with backoff: ~6 sightings in 1.5 s (logged at 1, 2, 4); a hot loop would log 1024 and beyond
    expect(Math.max(...sightings)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...sightings)).toBeLessThan(16);
    expect(await result.state()).toBe('PENDING');
    await startWorker(q, {}, (w) => w.register('ops.add', ([x, y]) => (x as number) + (y as number)));
    await expect(result.get({ timeout: 5000 })).resolves.toBe(5);
  }, 10_000);

  test('unknown task, dead-letter: parked unchanged in <queue>.dead-letter (PENDING), replayable by a worker that has it', async () => {
    const q = queue('unknown-dlq');
    const { app } = await startWorker(q, { unknownTask: 'dead-letter' }, () => undefined);
    const result = await app.sendTask('ops.add', [20, 22], {}, { queue: q });
    await until(
      () => side.ready(`${q}.dead-letter`),
      (n) => n === 1,
    );
    expect(await result.state()).toBe('PENDING');
    expect(await side.ready(q)).toBe(0);
    await startWorker(`${q}.dead-letter`, {}, (w) => w.register('ops.add', ([x, y]) => (x as number) + (y as number)));
    await expect(result.get({ timeout: 5000 })).resolves.toBe(42);
  });

  if (name === 'redis') {
    test('an ETA longer than the visibility timeout is not restored while held: it runs once', async () => {
      const q = queue('eta-visibility');
      let runs = 0;
      const { app } = await startWorker(q, { concurrency: 1 }, (w) => w.register('ops.count', () => ++runs), {
        visibilityTimeoutSeconds: 1,
        restoreIntervalSeconds: 0.25,
      });
      // a second process sweeping with the same tiny timeout (kombu's restore_visible)
      const sweeper = side.app({ visibilityTimeoutSeconds: 1, restoreIntervalSeconds: 0.25 });
      await sweeper.connect();
      try {
        const result = await app.sendTask('ops.count', [], {}, { queue: q, countdown: 2.5 });
        await until(
          () => side.unacked(q),
          (n) => n === 1,
        );
        for (let i = 0; i < 8; i++) {
          await new Promise((r) => setTimeout(r, 250));
          expect(await (sweeper.broker as RedisBroker).restoreVisible()).toBe(0);
        }
        await expect(result.get({ timeout: 5000 })).resolves.toBe(1);
        await new Promise((r) => setTimeout(r, 1200));
        expect(runs).toBe(1);
        expect(await side.ready(q)).toBe(0);
        expect(await side.unacked(q)).toBe(0);
      } finally {
        await sweeper.close();
      }
    });
  }
});
