/**
 * Arguments bound like Python, against real Python Celery over {RabbitMQ, Redis} × {Redis, RPC},
 * per Celery peer: the same calls go to a Python worker (`py.add`, `def add(x, y)`) and to ours
 * (`node.add`, params ['x', 'y']), from a Python client and from ours, and must end the same way:
 * kwargs bound by name, and Python's own TypeError for a call Python refuses.
 */
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { CeleryTaskError } from '../../libs/nestjs-celery/src/protocol/exceptions.js';
import { deleteQueues } from '../support/cleanup.js';

import { celeryPeers, pythonClient, startPythonWorker, type PythonCall, type PythonEnv, type PythonWorker } from '../support/python.js';
import { AMQP_URL, REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';

const describeInterop = await describeIfAvailable('kwargs interop with Python Celery', 'redis', 'rabbitmq', 'python-celery');

const BROKERS = { rabbitmq: AMQP_URL, redis: REDIS_URL } as const;
const BACKENDS = { redis: REDIS_URL, rpc: 'rpc://' } as const;
const PEERS = celeryPeers();
const MATRIX = PEERS.flatMap((peer) =>
  (Object.keys(BROKERS) as (keyof typeof BROKERS)[]).flatMap((b) =>
    (Object.keys(BACKENDS) as (keyof typeof BACKENDS)[]).map((r) => [peer.version, b, r, peer] as const),
  ),
);

/** add(x, y) called every way Python allows or refuses; `task` is filled in per worker. */
const CALLS: Omit<PythonCall, 'task'>[] = [
  { kwargs: { x: 4, y: 5 } },
  { kwargs: { y: 5, x: 4 } },
  { args: [4], kwargs: { y: 5 } },
  { args: [4, 5] },
  { kwargs: { x: 4 } },
  { args: [] },
  { kwargs: { x: 4, y: 5, z: 6 } },
  { args: [4], kwargs: { x: 5 } },
  { args: [4, 5, 6] },
];

describeInterop.each(MATRIX)('kwargs interop: Celery %s, %s broker, %s backend', (_version, brokerName, backendName, peer) => {
  const brokerUrl = BROKERS[brokerName];
  const backendUrl = BACKENDS[backendName];
  const nodeQueue = uniqueName('kwargs.node');
  const pyQueue = uniqueName('kwargs.py');
  const toNode: PythonEnv = { broker: brokerUrl, backend: backendUrl, queue: nodeQueue, peer: peer.peer };
  const toPy: PythonEnv = { broker: brokerUrl, backend: backendUrl, queue: pyQueue, peer: peer.peer };
  let app: Celery;
  let worker: Worker;
  let pyWorker: PythonWorker;

  beforeAll(async () => {
    app = new Celery({ broker: brokerUrl, backend: backendUrl, logger: silentLogger });
    worker = new Worker(app, { queues: [nodeQueue], logger: silentLogger, concurrency: 4 });
    worker.register('node.add', ([x, y]) => (x as number) + (y as number), { params: ['x', 'y'] });
    await worker.start();
    pyWorker = await startPythonWorker(toPy);
  }, 60_000);

  afterAll(async () => {
    await pyWorker?.stop();
    await worker?.stop();
    await app?.close();
    await deleteQueues(brokerUrl, [nodeQueue, pyQueue]);
  }, 60_000);

  test('Python send_task: our worker binds and refuses exactly as the Python worker does', async () => {
    const [fromPy, fromNode] = await Promise.all([
      pythonClient(
        toPy,
        CALLS.map((c) => ({ ...c, task: 'py.add' })),
      ),
      pythonClient(
        toNode,
        CALLS.map((c) => ({ ...c, task: 'node.add' })),
      ),
    ]);
    const outcome = (o: (typeof fromPy)[number]) => ({
      state: o.state,
      result: o.result,
      exc_type: o.exc_type,
      exc_module: o.exc_module,
      exc_args: o.exc_args,
    });
    // the scenario as Python runs it: the same calls give these outcomes on a Python worker
    expect(fromPy.map(outcome)).toEqual(
      [
        { state: 'SUCCESS', result: 9 },
        { state: 'SUCCESS', result: 9 },
        { state: 'SUCCESS', result: 9 },
        { state: 'SUCCESS', result: 9 },
        { state: 'FAILURE', exc_type: 'TypeError', exc_module: 'builtins', exc_args: ["add() missing 1 required positional argument: 'y'"] },
        { state: 'FAILURE', exc_type: 'TypeError', exc_module: 'builtins', exc_args: ["add() missing 2 required positional arguments: 'x' and 'y'"] },
        { state: 'FAILURE', exc_type: 'TypeError', exc_module: 'builtins', exc_args: ["add() got an unexpected keyword argument 'z'"] },
        { state: 'FAILURE', exc_type: 'TypeError', exc_module: 'builtins', exc_args: ["add() got multiple values for argument 'x'"] },
        { state: 'FAILURE', exc_type: 'TypeError', exc_module: 'builtins', exc_args: ['add() takes 2 positional arguments but 3 were given'] },
      ].map((o) => ({ result: undefined, exc_type: undefined, exc_module: undefined, exc_args: undefined, ...o })),
    );
    expect(fromNode.map(outcome)).toEqual(fromPy.map(outcome));
  }, 120_000);

  test('our sendTask: kwargs reach the Python worker by name, and its TypeError arrives typed', async () => {
    for (const [queue, task] of [
      [pyQueue, 'py.add'],
      [nodeQueue, 'node.add'],
    ] as const) {
      const sums = await Promise.all([app.sendTask<number>(task, [], { x: 4, y: 5 }, { queue }), app.sendTask<number>(task, [4], { y: 5 }, { queue })]);
      await expect(Promise.all(sums.map((r) => r.get({ timeout: 60_000 })))).resolves.toEqual([9, 9]);
      const bad = await app.sendTask(task, [4], { z: 5 }, { queue });
      const error = (await bad.get({ timeout: 60_000 }).catch((e: unknown) => e)) as CeleryTaskError;
      expect(error).toBeInstanceOf(CeleryTaskError);
      expect({ task, excType: error.excType, excModule: error.excModule, excMessage: error.excMessage }).toEqual({
        task,
        excType: 'TypeError',
        excModule: 'builtins',
        excMessage: ["add() got an unexpected keyword argument 'z'"],
      });
    }
  }, 180_000);
});
