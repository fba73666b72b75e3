/**
 * task_routes with real Python Celery 5.2, 5.5 and 5.6: the same table on both sides routes every
 * call alike (Python's app.amqp.router against our TaskRouter: exact names, globs, regexes, a
 * router function, explicit options winning), then end to end over RabbitMQ and Redis: a Python
 * client and ours, each with the table, send to a default queue nobody consumes, and the routes
 * carry each task to the worker that has it (Python → Python first, as validation).
 */
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import type { SendTaskOptions } from '../../libs/nestjs-celery/src/engine/celery.js';
import type { TaskRoute, TaskRoutes } from '../../libs/nestjs-celery/src/engine/task-routes.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { deleteQueues } from '../support/cleanup.js';
import { peerSuites, pythonClient, runPython, startPythonWorker, type PythonEnv, type PythonWorker } from '../support/python.js';
import { AMQP_URL, REDIS_URL, uniqueName } from '../support/services.js';

const PEERS = await peerSuites('task_routes interop with Python Celery', 'redis', 'rabbitmq');

/** One table, written once: our TaskRoutes and the JSON interop_app.py turns into Python's task_routes. */
function table(queues: { py: string; node: string }) {
  const daily: TaskRoute = { queue: 'daily', priority: 3 };
  const events: TaskRoute = { queue: 'ev', exchange: 'ev-x', routingKey: 'ev.k' };
  const urgent: TaskRoute = { queue: 'urgent', priority: 9 };
  const map = {
    'py.*': queues.py,
    'node.*': queues.node,
    'reports.daily': daily,
    'reports.*': 'reports',
    'img.*.resize': 'images',
    'a?c': 'lit',
    'events.*': events,
  };
  const pairs: [string | RegExp, string][] = [
    [/feed\./, 'feeds'],
    ['feed.*', 'never'],
    [/import$/, 'imports'],
  ];
  const ours: TaskRoutes = [(_name, _args, kwargs) => ((kwargs as { urgent?: boolean }).urgent ? urgent : null), map, pairs];
  const snake = (v: string | TaskRoute) =>
    typeof v === 'string' ? v : Object.fromEntries(Object.entries(v).map(([k, x]) => [k === 'routingKey' ? 'routing_key' : k, x]));
  const python = [
    { urgent_kwarg: snake(urgent) },
    { map: Object.fromEntries(Object.entries(map).map(([k, v]) => [k, snake(v)])) },
    { pairs: pairs.map(([k, v]) => [k instanceof RegExp ? { re: k.source } : k, v]) },
  ];
  return { ours, python: JSON.stringify(python) };
}

interface Call {
  name: string;
  kwargs?: Record<string, unknown>;
  options?: Pick<SendTaskOptions, 'queue' | 'priority'>;
}

const CALLS: Call[] = [
  { name: 'reports.daily' },
  { name: 'reports.weekly' },
  { name: 'tasks.add' },
  { name: 'img.a.b.resize' },
  { name: 'img.png.resize.more' },
  { name: 'abc' },
  { name: 'a?c' },
  { name: 'events.click' },
  { name: 'feed.import' },
  { name: 'bulk.import' },
  { name: 'import' },
  { name: 'reports.daily', kwargs: { urgent: true } },
  { name: 'reports.daily', options: { queue: 'mine', priority: 0 } },
];

for (const { version, peer, describe: describeInterop } of PEERS) {
  describeInterop(`task_routes × Python Celery ${version}: the same table routes alike`, () => {
    test("Python's router and ours give every call the same queue, exchange, routing key and priority", async () => {
      const defaultQueue = uniqueName('routes.default');
      const { ours, python } = table({ py: 'py-q', node: 'node-q' });
      const env: PythonEnv = { broker: REDIS_URL, backend: REDIS_URL, queue: defaultQueue, peer, env: { INTEROP_TASK_ROUTES: python } };
      const pyRoutes = await runPython<unknown[]>(
        'routes_peer.py',
        env,
        CALLS.map((c) => ({ name: c.name, args: [], kwargs: c.kwargs ?? {}, options: c.options ?? {} })),
        [],
        60_000,
      );
      const app = new Celery({ broker: 'memory://', taskDefaultQueue: defaultQueue, taskRoutes: ours, logger: silentLogger });
      const ourRoutes = CALLS.map((c) => {
        const o: TaskRoute = app.router.route(c.name, [], c.kwargs ?? {}, { ...c.options });
        return { queue: o.queue ?? defaultQueue, exchange: o.exchange ?? null, routing_key: o.routingKey ?? null, priority: o.priority ?? null };
      });
      expect(ourRoutes).toEqual(pyRoutes);
      // the table is not trivial: most calls leave the default queue, and every kind of rule answered
      expect(new Set(ourRoutes.map((r) => r.queue))).toEqual(
        new Set(['daily', 'reports', defaultQueue, 'images', 'lit', 'ev', 'feeds', 'imports', 'urgent', 'mine']),
      );
    }, 90_000);
  });

  describeInterop.each([
    ['rabbitmq', AMQP_URL],
    ['redis', REDIS_URL],
  ])(`task_routes × Python Celery ${version} end to end: %s broker`, (name, brokerUrl) => {
    const pyQueue = uniqueName(`routes.py.${name}`);
    const nodeQueue = uniqueName(`routes.node.${name}`);
    const defaultQueue = uniqueName(`routes.nobody.${name}`);
    const { ours, python } = table({ py: pyQueue, node: nodeQueue });
    const routed = { INTEROP_TASK_ROUTES: python };
    let pyWorker: PythonWorker;
    let app: Celery;
    let worker: Worker;

    beforeAll(async () => {
      pyWorker = await startPythonWorker({ broker: brokerUrl, backend: REDIS_URL, queue: pyQueue, peer });
      app = new Celery({ broker: brokerUrl, backend: REDIS_URL, taskDefaultQueue: defaultQueue, taskRoutes: ours, logger: silentLogger });
      worker = new Worker(app, { queues: [nodeQueue], logger: silentLogger });
      worker.register('node.where', (_a, _k, ctx) => ({ by: 'node', queue: ctx.deliveryInfo.queue }));
      await worker.start();
    }, 60_000);
    afterAll(async () => {
      await pyWorker?.stop();
      await worker?.stop();
      await app?.close();
      await deleteQueues(brokerUrl, [pyQueue, nodeQueue, defaultQueue]);
    }, 60_000);

    test('a Python client with the table reaches its own worker (validation) and ours; ours reaches both', async () => {
      const env: PythonEnv = { broker: brokerUrl, backend: REDIS_URL, queue: defaultQueue, peer, env: routed };
      const [pyToPy, pyToNode] = await pythonClient(env, [
        { task: 'py.add', args: [2, 3] },
        { task: 'node.where', args: [] },
      ]);
      expect(pyToPy).toMatchObject({ state: 'SUCCESS', result: 5 });
      expect(pyToNode).toMatchObject({ state: 'SUCCESS', result: { by: 'node', queue: nodeQueue } });
      await expect((await app.sendTask('py.add', [20, 22])).get({ timeout: 60_000 })).resolves.toBe(42);
      await expect((await app.sendTask('node.where')).get({ timeout: 60_000 })).resolves.toEqual({ by: 'node', queue: nodeQueue });
    }, 120_000);
  });
}
