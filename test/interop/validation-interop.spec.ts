/**
 * Schema-validated contracts against real Python Celery (5.2, 5.5, 5.6) over RabbitMQ and Redis (Redis
 * backend): a Python client sends '2' where a number is expected, first to a Python worker (its own
 * TypeError), then to our Nest worker, whose contract refuses it: the same exception type and module,
 * and a message naming the field, as `result.get()` raises it in Python.
 */
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { z } from 'zod';
import { CeleryModule, CeleryTask, defineTask } from 'nestjs-celery';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { deleteQueues } from '../support/cleanup.js';
import { peerSuites, pythonClient, startPythonWorker, type PythonEnv, type PythonOutcome, type PythonWorker } from '../support/python.js';
import { AMQP_URL, REDIS_URL, uniqueName } from '../support/services.js';

const addTask = defineTask('node.add', { args: z.tuple([z.number(), z.number()]), result: z.number(), params: ['x', 'y'] });

@Injectable()
class AddTasks {
  @CeleryTask(addTask)
  add(x: number, y: number): number {
    return x + y;
  }
}

const BROKERS = { rabbitmq: AMQP_URL, redis: REDIS_URL } as const;
const outcome = (o: PythonOutcome) => ({ state: o.state, result: o.result, exc_type: o.exc_type, exc_module: o.exc_module, exc_args: o.exc_args });

for (const { version, peer, describe: describePeer } of await peerSuites('validated contracts interop', 'redis', 'rabbitmq')) {
  describePeer.each(Object.keys(BROKERS) as (keyof typeof BROKERS)[])(`validated contracts: Python Celery ${version} client, %s broker`, (brokerName) => {
    const broker = BROKERS[brokerName];
    const nodeQueue = uniqueName('validate.node');
    const pyQueue = uniqueName('validate.py');
    const toNode: PythonEnv = { broker, backend: REDIS_URL, queue: nodeQueue, peer };
    const toPy: PythonEnv = { broker, backend: REDIS_URL, queue: pyQueue, peer };
    let moduleRef: TestingModule;
    let pyWorker: PythonWorker;

    beforeAll(async () => {
      moduleRef = await Test.createTestingModule({
        imports: [CeleryModule.forRoot({ broker, backend: REDIS_URL, logger: silentLogger, worker: { queues: [nodeQueue] } })],
        providers: [AddTasks],
      }).compile();
      moduleRef.useLogger(false);
      await moduleRef.init();
      pyWorker = await startPythonWorker(toPy);
    }, 120_000);

    afterAll(async () => {
      await pyWorker?.stop();
      await moduleRef?.close();
      await deleteQueues(broker, [nodeQueue, pyQueue]);
    }, 60_000);

    test("'2' for a number: Python's worker raises TypeError; ours stores TypeError naming the field, read by result.get()", async () => {
      const [fromPy, fromNode] = await Promise.all([
        pythonClient(toPy, [{ task: 'py.add', args: ['2', 3] }], 60),
        pythonClient(
          toNode,
          [
            { task: 'node.add', args: ['2', 3] },
            { task: 'node.add', kwargs: { x: 2, y: '3' } },
            { task: 'node.add', args: [2, 3] },
          ],
          60,
        ),
      ]);
      // the scenario as Python runs it: a str where a number belongs is Python's builtins TypeError
      expect(fromPy.map(outcome)).toEqual([
        { state: 'FAILURE', result: undefined, exc_type: 'TypeError', exc_module: 'builtins', exc_args: ['can only concatenate str (not "int") to str'] },
      ]);
      expect(fromNode.map(outcome)).toEqual([
        {
          state: 'FAILURE',
          result: undefined,
          exc_type: 'TypeError',
          exc_module: 'builtins',
          exc_args: ["add() argument 'x': Invalid input: expected number, received string"],
        },
        {
          state: 'FAILURE',
          result: undefined,
          exc_type: 'TypeError',
          exc_module: 'builtins',
          exc_args: ["add() argument 'y': Invalid input: expected number, received string"],
        },
        { state: 'SUCCESS', result: 5, exc_type: undefined, exc_module: undefined, exc_args: undefined },
      ]);
    }, 180_000);
  });
}
