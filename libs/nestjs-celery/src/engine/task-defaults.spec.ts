// A task's own queue and serializer (Celery's task attributes) on the memory transport: their place
// between the send's options and task_routes, the wire content type, retries, and the queues a worker consumes.
import { silentLogger, type CeleryLogger } from '../common/logger.js';
import type { TransportMessage, PublishRoute } from '../transport/broker.interface.js';
import { MemoryBackend } from '../transport/memory/memory.backend.js';
import { MemoryBroker } from '../transport/memory/memory.broker.js';
import { Celery } from './celery.js';
import { Worker } from './worker/worker.js';

/** A memory broker that records what each publish put on the wire. */
class WireBroker extends MemoryBroker {
  readonly wire: { id: unknown; task: unknown; routingKey: string; contentType: string }[] = [];
  override publish(message: TransportMessage, route: PublishRoute): Promise<void> {
    this.wire.push({ id: message.headers.id, task: message.headers.task, routingKey: route.routingKey, contentType: message.contentType });
    return super.publish(message, route);
  }
}

let n = 0;
function appWith(options: ConstructorParameters<typeof Celery>[0] = {}) {
  const url = `memory://task-defaults-${process.pid}-${++n}`;
  const broker = new WireBroker(url);
  const app = new Celery({ broker, backend: new MemoryBackend(url), logger: silentLogger, taskDefaultQueue: `default-${n}`, ...options });
  return { app, broker };
}

describe("a task's own queue and serializer (Celery's task attributes)", () => {
  test("precedence is Celery's: the send's options, then the task's, then task_routes, then the app default", async () => {
    const { app, broker } = appWith({ taskRoutes: { 't.*': 'routed' } });
    app.addTaskDefaults((name) => (name === 't.own' ? { queue: 'own', serializer: 'yaml' } : undefined));
    try {
      const sent = async (name: string, options = {}) => {
        const result = await app.sendTask(name, [1], {}, { ignoreResult: true, ...options });
        const wire = broker.wire.find((w) => w.id === result.id)!;
        return [wire.routingKey, wire.contentType];
      };
      expect(await sent('t.own')).toEqual(['own', 'application/x-yaml']);
      expect(await sent('t.own', { queue: 'mine', serializer: 'msgpack' })).toEqual(['mine', 'application/x-msgpack']);
      expect(await sent('t.other')).toEqual(['routed', 'application/json']);
      expect(await sent('x.none')).toEqual([app.defaultQueue, 'application/json']);
    } finally {
      await app.close();
    }
  });

  test("a registered task's options reach its retries (serializer) while the retry goes back where it came from", async () => {
    const { app, broker } = appWith();
    const worker = new Worker(app, { logger: silentLogger, acceptContent: ['json', 'msgpack'] });
    const seen: string[] = [];
    worker.register(
      'w.flaky',
      (_a, _k, ctx) => {
        seen.push(ctx.deliveryInfo.queue);
        return ctx.retries === 0 ? ctx.retry({ countdown: 0 }) : 'done';
      },
      { queue: 'w-own', serializer: 'msgpack' },
    );
    await worker.start();
    try {
      const result = await app.sendTask('w.flaky');
      await expect(result.get({ timeout: 10_000 })).resolves.toBe('done');
      const wire = broker.wire.filter((w) => w.id === result.id);
      expect(wire.map((w) => [w.routingKey, w.contentType])).toEqual([
        ['w-own', 'application/x-msgpack'],
        ['w-own', 'application/x-msgpack'],
      ]);
      expect(seen).toEqual(['w-own', 'w-own']);
    } finally {
      await worker.stop();
      await app.close();
    }
  });

  test("a worker without queues consumes the default queue and its tasks' queues; explicit queues are exactly those, with a warning", async () => {
    const { app } = appWith();
    const implicit = new Worker(app, { logger: silentLogger });
    implicit.register('a.one', () => 1, { queue: 'qa' });
    implicit.register('a.two', () => 2, { queue: 'qa' });
    implicit.register('a.three', () => 3, { queue: 'qb' });
    implicit.register('a.plain', () => 4);
    expect(implicit.queues).toEqual([app.defaultQueue, 'qa', 'qb']);

    const warnings: string[] = [];
    const logger: CeleryLogger = { ...silentLogger, warn: (m: string) => void warnings.push(m) };
    const explicit = new Worker(app, { logger, queues: ['qa'] });
    explicit.register('a.one', () => 1, { queue: 'qa' });
    explicit.register('a.three', () => 3, { queue: 'qb' });
    expect(explicit.queues).toEqual(['qa']);
    await explicit.start();
    try {
      expect(explicit.consumedQueues).toEqual(['qa']);
      expect(warnings).toEqual([expect.stringMatching(/task a\.three names queue 'qb', which this worker does not consume \(queues: qa\)/)]);
    } finally {
      await explicit.stop();
      await app.close();
    }
  });

  test('a queue or serializer no send could use is refused at registration', () => {
    const { app } = appWith();
    const worker = new Worker(app, { logger: silentLogger });
    expect(() => worker.register('bad.q', () => 1, { queue: '' })).toThrow(/queue must be a non-empty queue name/);
    expect(() => worker.register('bad.s', () => 1, { serializer: 'pickle' })).toThrow(/serializer must be one of json, msgpack, yaml, got "pickle"/);
  });
});
