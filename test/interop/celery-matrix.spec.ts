/**
 * The interop matrix's core set on every cell beyond engine-interop.spec.ts (5.2 / RabbitMQ 3.10 / Redis):
 * Python Celery {5.5, 5.6} × {RabbitMQ 3.10, RabbitMQ 4.x, Redis} × {Redis, RPC backend}, and 5.2 on
 * RabbitMQ 4.x: plain task, error shape and countdown, validated Python → Python first, then both directions.
 * RabbitMQ 4.x cells run on the deny-all node; where the Debian-packaged peer predates Celery's RabbitMQ 4.3
 * fix (5.2, 5.5; the RPC backend's transient reply queue on every version) the cell runs on the permissive
 * node (AMQP4_PERMISSIVE_URL: only transient_nonexcl_queues permitted, global QoS and the rest denied) and
 * says so in its name.
 * Each cell also runs kwargs by name both ways, a chain across both workers (a chord too on the Redis backend; the
 * RPC backend has none) and inspect ping of both workers from our client.
 */
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { chain, chord, signature } from '../../libs/nestjs-celery/src/engine/canvas/index.js';
import { CeleryTaskError } from '../../libs/nestjs-celery/src/protocol/exceptions.js';
import { ValueError } from '../../libs/nestjs-celery/src/protocol/python-errors.js';
import { deleteQueues } from '../support/cleanup.js';
import { AMQP4_URL, CELERY_PEERS, amqp4UrlFor, type CeleryVersion } from '../support/peers.js';
import { pythonClient, startPythonWorker, type PythonEnv, type PythonWorker } from '../support/python.js';
import { AMQP_URL, REDIS_URL, describeIfAvailable, uniqueName, type ServiceName } from '../support/services.js';

type BrokerName = 'rabbitmq3' | 'rabbitmq4' | 'redis';
type BackendName = 'redis' | 'rpc';
const BACKENDS: Record<BackendName, string> = { redis: REDIS_URL, rpc: 'rpc://' };

interface Cell {
  version: CeleryVersion;
  broker: BrokerName;
  backend: BackendName;
}

const CELLS: Cell[] = [
  ...(['5.5', '5.6'] as const).flatMap((version) =>
    (['rabbitmq3', 'rabbitmq4', 'redis'] as const).flatMap((broker) => (['redis', 'rpc'] as const).map((backend) => ({ version, broker, backend }))),
  ),
  { version: '5.2', broker: 'rabbitmq4', backend: 'redis' },
  { version: '5.2', broker: 'rabbitmq4', backend: 'rpc' },
];

function brokerUrl(c: Cell): string {
  if (c.broker === 'redis') return REDIS_URL;
  if (c.broker === 'rabbitmq3') return AMQP_URL;
  return amqp4UrlFor(c.version, BACKENDS[c.backend]);
}

function label(c: Cell): string {
  const node =
    c.broker !== 'rabbitmq4' ? '' : brokerUrl(c) === AMQP4_URL ? ' (deny-all node)' : ' (permissive node: this Debian Celery predates the RabbitMQ 4.3 fix)';
  return `Celery ${c.version}, ${c.broker}${node}, ${c.backend} backend`;
}

function servicesFor(c: Cell): ServiceName[] {
  const s: ServiceName[] = ['redis', 'python-celery'];
  if (c.version !== '5.2') s.push(`celery-${c.version}`);
  if (c.broker === 'rabbitmq3') s.push('rabbitmq');
  if (c.broker === 'rabbitmq4') s.push(brokerUrl(c) === AMQP4_URL ? 'rabbitmq4' : 'rabbitmq4-permissive');
  return s;
}

for (const cell of CELLS) {
  const name = `interop matrix: ${label(cell)}`;
  const describeCell = await describeIfAvailable(name, ...servicesFor(cell));

  describeCell(name, () => {
    const broker = brokerUrl(cell);
    const backend = BACKENDS[cell.backend];
    const nodeQueue = uniqueName('matrix.node');
    const pyQueue = uniqueName('matrix.py');
    const toNode: PythonEnv = { broker, backend, queue: nodeQueue, peer: cell.version };
    const toPy: PythonEnv = { broker, backend, queue: pyQueue, peer: cell.version };
    let app: Celery;
    let worker: Worker;
    let pyWorker: PythonWorker;

    beforeAll(async () => {
      expect(CELERY_PEERS[cell.version].available()).toBe(true);
      pyWorker = await startPythonWorker(toPy);
      app = new Celery({ broker, backend, logger: silentLogger });
    }, 90_000);

    /** Our worker, started by the test that needs it, so a worker that cannot start fails that test only. */
    async function nodeWorker(): Promise<Worker> {
      if (worker) return worker;
      worker = new Worker(app, { queues: [nodeQueue], logger: silentLogger, concurrency: 4, hostname: `${nodeQueue}@matrix` });
      worker.register('node.sum', ([values]) => (values as number[]).reduce((a, b) => a + b, 0));
      // bound by name as Python binds a call: a Python client's kwargs {x, y} reach x and y
      worker.register('node.add', ([x, y]) => (x as number) + (y as number), { params: ['x', 'y'] });
      worker.register('node.fail', ([message]) => {
        throw new ValueError(`from node: ${String(message)}`);
      });
      await worker.start();
      return worker;
    }

    afterAll(async () => {
      await pyWorker?.stop();
      await worker?.stop();
      await app?.close();
      await deleteQueues(broker, [nodeQueue, pyQueue]);
    }, 60_000);

    test('Python client → Python worker (the cell is valid): plain task, error, countdown', async () => {
      const out = await pythonClient(toPy, [
        { task: 'py.add', args: [2, 3] },
        { task: 'py.fail', args: ['custom'] },
        { task: 'py.add', args: [1, 1], options: { countdown: 1 } },
      ]);
      expect(out.map((o) => o.state)).toEqual(['SUCCESS', 'FAILURE', 'SUCCESS']);
      expect(out[0].result).toBe(5);
      expect(out[1]).toMatchObject({ exc_type: 'ValueError', exc_args: ['custom'] });
      expect(out[2].result).toBe(2);
    }, 90_000);

    test('Python client → our worker: plain task, error shape, countdown', async () => {
      await nodeWorker();
      const out = await pythonClient(toNode, [
        { task: 'node.add', args: [2, 3] },
        { task: 'node.fail', args: ['x'] },
        { task: 'node.add', args: [1, 1], options: { countdown: 1 } },
      ]);
      expect(out.map((o) => o.state)).toEqual(['SUCCESS', 'FAILURE', 'SUCCESS']);
      expect(out[0].result).toBe(5);
      expect(out[1]).toMatchObject({ exc_type: 'ValueError', exc_is_value_error: true, exc_args: ['from node: x'] });
      expect(out[2].result).toBe(2);
    }, 90_000);

    test('our client → Python worker: plain task, error shape, countdown', async () => {
      const sum = await app.sendTask('py.add', [2, 3], {}, { queue: pyQueue });
      expect(await sum.get({ timeout: 30_000 })).toBe(5);
      const failed = await app.sendTask('py.fail', ['custom'], {}, { queue: pyQueue });
      const error = (await failed.get({ timeout: 30_000 }).catch((e: unknown) => e)) as CeleryTaskError;
      expect(error).toBeInstanceOf(CeleryTaskError);
      expect(error).toMatchObject({ excType: 'ValueError', excModule: 'builtins', excMessage: ['custom'], state: 'FAILURE' });
      const later = await app.sendTask('py.add', [1, 1], {}, { queue: pyQueue, countdown: 1 });
      expect(await later.get({ timeout: 30_000 })).toBe(2);
    }, 90_000);

    test('kwargs by name both ways (Python → Python first), a chain across both workers, a chord on the Redis backend, inspect ping of both', async () => {
      await nodeWorker();
      const [pyToPy] = await pythonClient(toPy, [{ task: 'py.add', kwargs: { x: 4, y: 5 } }]);
      expect(pyToPy).toMatchObject({ state: 'SUCCESS', result: 9 });
      const [pyToNode] = await pythonClient(toNode, [{ task: 'node.add', args: [4], kwargs: { y: 6 } }]);
      expect(pyToNode).toMatchObject({ state: 'SUCCESS', result: 10 });
      expect(await (await app.sendTask('py.add', [], { x: 7, y: 8 }, { queue: pyQueue })).get({ timeout: 30_000 })).toBe(15);
      const chained = await chain(signature('node.add', [1, 2], {}, { queue: nodeQueue }), signature('py.add', [3], {}, { queue: pyQueue })).applyAsync(app);
      expect(await chained.get({ timeout: 30_000 })).toBe(6);
      if (cell.backend === 'redis') {
        // header on both workers, body on ours: the Redis backend's chord counter joins them
        const chorded = await chord(
          [signature('py.add', [1, 1], {}, { queue: pyQueue }), signature('node.add', [2, 2], {}, { queue: nodeQueue })],
          signature('node.sum', [], {}, { queue: nodeQueue }),
        ).applyAsync(app);
        expect(await chorded.get({ timeout: 30_000 })).toBe(6);
      }
      const names = (await app.control.ping({ timeout: 5000 })).flatMap((reply) => Object.keys(reply));
      expect(names).toEqual(expect.arrayContaining([pyWorker.nodename, `${nodeQueue}@matrix`]));
    }, 120_000);
  });
}
