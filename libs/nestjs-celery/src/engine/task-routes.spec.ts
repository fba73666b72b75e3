// task_routes as Celery reads them (celery/app/routes.py), and sendTask following them on the memory transport.
import { silentLogger } from '../common/logger.js';
import { MemoryBackend } from '../transport/memory/memory.backend.js';
import { MemoryBroker } from '../transport/memory/memory.broker.js';
import { chain, s } from './canvas/index.js';
import { Celery, type SendTaskOptions } from './celery.js';
import { TaskRouter, type TaskRoutes } from './task-routes.js';
import { Worker } from './worker/worker.js';

const route = (routes: TaskRoutes, name: string, options = {}) => new TaskRouter(routes).route(name, [], {}, options);

describe('TaskRouter (Celery MapRoute and Router)', () => {
  test('an exact name wins over patterns; a string is a queue; no answer leaves the options as given', () => {
    const routes = { 'reports.*': 'reports', 'reports.daily': { queue: 'daily', priority: 3 } };
    expect(route(routes, 'reports.daily')).toEqual({ queue: 'daily', priority: 3 });
    expect(route(routes, 'reports.weekly')).toEqual({ queue: 'reports' });
    expect(route(routes, 'tasks.add')).toEqual({});
  });

  test("globs are fnmatch over the whole name; only keys with '*' are patterns", () => {
    const routes = { 'img.*.resize': 'images', 'a?c': 'not-a-pattern', 'x.[!0-9]*': 'letters' };
    expect(route(routes, 'img.png.resize')).toEqual({ queue: 'images' });
    expect(route(routes, 'img.png.resize.more')).toEqual({});
    // fnmatch's '*' crosses dots, as Celery's (not an AMQP topic word)
    expect(route(routes, 'img.a.b.resize')).toEqual({ queue: 'images' });
    expect(route(routes, 'abc')).toEqual({});
    expect(route(routes, 'a?c')).toEqual({ queue: 'not-a-pattern' });
    expect(route(routes, 'x.y1')).toEqual({ queue: 'letters' });
    expect(route(routes, 'x.1y')).toEqual({});
  });

  test('patterns are tried in the order given; a RegExp matches at the start of the name (re.match)', () => {
    const routes: TaskRoutes = [
      [
        [/feed\./, 'feeds'],
        ['feed.*', 'never'],
        [/import$/, 'imports'],
      ],
    ];
    expect(route(routes, 'feed.import')).toEqual({ queue: 'feeds' });
    expect(route(routes, 'bulk.import')).toEqual({});
    expect(route(routes, 'import')).toEqual({ queue: 'imports' });
  });

  test('a list of routers is asked in order; a router function may pass (null) to the next', () => {
    const seen: unknown[] = [];
    const routes: TaskRoutes = [
      (name, args, kwargs, options) => {
        seen.push([name, args, kwargs, options]);
        return (kwargs as { urgent?: boolean }).urgent ? { queue: 'urgent', priority: 9 } : null;
      },
      { '*': 'default-by-route' },
    ];
    const router = new TaskRouter(routes);
    expect(router.route('t.x', [1], { urgent: true }, {})).toEqual({ queue: 'urgent', priority: 9 });
    const sent: SendTaskOptions = { countdown: 5 };
    expect(router.route('t.x', [1], {}, sent)).toEqual({ queue: 'default-by-route', countdown: 5 });
    expect(seen[0]).toEqual(['t.x', [1], { urgent: true }, { queue: undefined, exchange: undefined, routingKey: undefined, priority: undefined }]);
  });

  test("the send's own options win over the route; the route fills what the send left unset", () => {
    const routes = { 't.*': { queue: 'routed', exchange: 'ex', routingKey: 'rk', priority: 2 } };
    expect(route(routes, 't.a', { queue: 'mine', priority: 0 })).toEqual({ queue: 'mine', exchange: 'ex', routingKey: 'rk', priority: 0 });
  });

  test('a route with a key Celery routes do not take here is a configuration error naming it', () => {
    expect(() => new TaskRouter({ 't.a': { queue: 'q', routing_key: 'x' } as never })).toThrow(/unknown key routing_key.*routingKey/);
    expect(() => new TaskRouter({ 't.a': 5 as never })).toThrow(/queue name or/);
  });
});

describe('sendTask follows taskRoutes (memory transport)', () => {
  test('a routed task reaches the worker of its queue; an explicit queue still wins; canvas steps are routed too', async () => {
    const name = `routes-spec-${process.pid}`;
    const app = new Celery({
      broker: new MemoryBroker(`memory://${name}`),
      backend: new MemoryBackend(`memory://${name}`),
      logger: silentLogger,
      taskRoutes: { 'math.*': 'math' },
    });
    const ran: string[] = [];
    const math = new Worker(app, { logger: silentLogger, queues: ['math'] });
    const other = new Worker(app, { logger: silentLogger, queues: ['celery', 'elsewhere'] });
    for (const [worker, queue] of [
      [math, 'math'],
      [other, 'celery|elsewhere'],
    ] as const) {
      worker.register('math.add', ([x, y], _k, ctx) => (ran.push(`${queue}:${ctx.deliveryInfo.queue}`), (x as number) + (y as number)));
    }
    await math.start();
    await other.start();
    try {
      await expect((await app.sendTask('math.add', [1, 2])).get({ timeout: 5000 })).resolves.toBe(3);
      await expect((await app.sendTask('math.add', [2, 2], {}, { queue: 'elsewhere' })).get({ timeout: 5000 })).resolves.toBe(4);
      // the worker publishes a chain's next step through the same routes
      await expect((await chain(s('math.add', 1, 1), s('math.add', 5)).applyAsync(app)).get({ timeout: 5000 })).resolves.toBe(7);
      expect(ran).toEqual(['math:math', 'celery|elsewhere:elsewhere', 'math:math', 'math:math']);
    } finally {
      await math.stop();
      await other.stop();
      await app.close();
    }
  });
});
