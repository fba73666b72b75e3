/**
 * A task's own `queue` and `serializer` (Celery's task attributes, on `@CeleryProcessor`) with real
 * Python Celery 5.2, 5.5 and 5.6 over Redis: a Python client sends to the queue a Nest processor names
 * and the Nest worker, given no `queues`, consumes it; a client-only Nest app whose processor names a
 * queue and msgpack sends to a Python worker on that queue, which receives msgpack (bytes arrive as
 * bytes). Validated first with Python on both sides (Python's send_task with the same options).
 */
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { CeleryClient, CeleryModule, CeleryProcessor, CeleryTask, TaskContext } from 'nestjs-celery';
import { deleteQueues } from '../support/cleanup.js';
import { peerSuites, pythonClient, startPythonWorker, type PythonEnv, type PythonWorker } from '../support/python.js';
import { REDIS_URL, uniqueName } from '../support/services.js';

const PEERS = await peerSuites('task queue/serializer interop with Python Celery', 'redis');

const NEST_QUEUE = uniqueName('attrs.nest');
const PY_QUEUE = uniqueName('attrs.py');

/** Runs on the Nest worker: says which queue the message came from. */
@Injectable()
@CeleryProcessor('attrs', { queue: NEST_QUEUE })
class NestSide {
  @CeleryTask('where')
  where(@TaskContext() ctx: TaskContext): string {
    return ctx.deliveryInfo.queue;
  }
}

/** Declares Python's tasks in a client-only app: where they go and how they are encoded. */
@Injectable()
@CeleryProcessor('py', { queue: PY_QUEUE, serializer: 'msgpack' })
class PythonSide {
  @CeleryTask('typeof')
  typeof(): never {
    throw new Error('runs on the Python worker');
  }

  @CeleryTask('delivery')
  delivery(): never {
    throw new Error('runs on the Python worker');
  }
}

for (const { version, peer, describe: describeInterop } of PEERS) {
  describeInterop(`task queue and serializer × Python Celery ${version} (Redis)`, () => {
    const defaultQueue = uniqueName('attrs.default');
    let pyWorker: PythonWorker | undefined;
    let nest: TestingModule | undefined;
    const pyEnv: PythonEnv = { broker: REDIS_URL, backend: REDIS_URL, queue: PY_QUEUE, peer, env: { INTEROP_ACCEPT_CONTENT: 'json,msgpack' } };

    beforeAll(async () => {
      pyWorker = await startPythonWorker(pyEnv, [], 90_000);
    }, 120_000);

    afterAll(async () => {
      await nest?.close();
      await pyWorker?.stop();
      await deleteQueues(REDIS_URL, [NEST_QUEUE, PY_QUEUE, defaultQueue]);
    }, 60_000);

    test('validation, Python → Python: send_task with a queue (json, then msgpack) reaches the worker on that queue', async () => {
      const [typed, routed] = await pythonClient({ ...pyEnv, queue: defaultQueue }, [
        { task: 'py.typeof', args: [{ __bytes__: true }], options: { queue: PY_QUEUE, serializer: 'json' } },
        { task: 'py.delivery', options: { queue: PY_QUEUE, serializer: 'msgpack' } },
      ]);
      // json has no bytes: a dict arrives as a dict (the msgpack case below is what differs)
      expect(typed).toMatchObject({ state: 'SUCCESS', result: 'dict' });
      expect(routed).toMatchObject({ state: 'SUCCESS', result: { routing_key: PY_QUEUE } });
    }, 120_000);

    test("Nest client-only app → Python worker: the processor's queue routes, its msgpack carries bytes as bytes", async () => {
      const client = await Test.createTestingModule({
        imports: [CeleryModule.forRoot({ broker: REDIS_URL, backend: REDIS_URL, taskDefaultQueue: defaultQueue, worker: false })],
        providers: [PythonSide],
      }).compile();
      client.useLogger(false);
      await client.init();
      try {
        const send = (name: string, args: unknown[]) => lastValueFrom(client.get(CeleryClient).send(name, args));
        await expect(send('py.typeof', [new Uint8Array([1, 2, 250])])).resolves.toBe('bytes');
        await expect(send('py.delivery', [])).resolves.toMatchObject({ routing_key: PY_QUEUE });
      } finally {
        await client.close();
      }
    }, 120_000);

    test('Python client → Nest worker: the worker consumes the queue its processor names (no queues option)', async () => {
      nest = await Test.createTestingModule({
        imports: [CeleryModule.forRoot({ broker: REDIS_URL, backend: REDIS_URL, taskDefaultQueue: defaultQueue, worker: { concurrency: 2 } })],
        providers: [NestSide],
      }).compile();
      nest.useLogger(false);
      await nest.init();
      const [outcome] = await pythonClient({ ...pyEnv, queue: NEST_QUEUE }, [{ task: 'attrs.where' }], 60);
      expect(outcome).toMatchObject({ state: 'SUCCESS', result: NEST_QUEUE });
      await nest.close();
      nest = undefined;
    }, 180_000);
  });
}
