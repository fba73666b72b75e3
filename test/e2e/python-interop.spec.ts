/**
 * The Nest face against real Python Celery 5.2, 5.5 and 5.6 (every version the README claims; RabbitMQ and Redis brokers, Redis results): a Python client
 * calls @CeleryTask handlers of a Nest CeleryServer and catches their failures as Python
 * exceptions; a Nest CeleryClient calls a Python worker.
 */
import type { INestMicroservice } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { CeleryClient, CeleryModule, CeleryServer, CeleryTaskError, defineTask } from 'nestjs-celery';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { deleteQueues } from '../support/cleanup.js';
import { peerSuites, pythonClient, startPythonWorker, type PythonWorker } from '../support/python.js';
import { AMQP_URL, REDIS_URL, uniqueName } from '../support/services.js';
import { InsufficientFunds, MathTasks } from './support/tasks.fixture.js';

const PEERS = await peerSuites('Nest face interop with Python Celery', 'redis', 'rabbitmq');

/** The Python peer's task, typed on the Nest side. */
const pyAdd = defineTask<[x: number, y: number], number>('py.add');

for (const { version, peer, describe: describeInterop } of PEERS)
  describeInterop.each([
    ['RabbitMQ', AMQP_URL],
    ['Redis', REDIS_URL],
  ])(`Nest face interop with Python Celery ${version} (%s broker)`, (_name, BROKER) => {
    const nestQueue = uniqueName('e2e.py-to-nest');
    const pyQueue = uniqueName('e2e.nest-to-py');
    let microservice: INestMicroservice;
    let pyWorker: PythonWorker | undefined;

    beforeAll(async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          CeleryModule.forRoot({
            broker: BROKER,
            backend: REDIS_URL,
            taskDefaultQueue: nestQueue,
            resultExpires: 300,
            logger: silentLogger,
            errors: [[InsufficientFunds, 'billing.errors.InsufficientFunds']],
          }),
        ],
        providers: [MathTasks],
      }).compile();
      microservice = moduleRef.createNestMicroservice({ strategy: new CeleryServer(), logger: false });
      await microservice.listen();
    }, 30_000);

    afterAll(async () => {
      await pyWorker?.stop();
      await microservice?.close();
      await deleteQueues(BROKER, [nestQueue, pyQueue]);
    }, 30_000);

    test('a Python client gets results and Python exceptions from @CeleryTask handlers', async () => {
      const [sum, greeting, valueError, mapped, forbidden] = await pythonClient({ broker: BROKER, backend: REDIS_URL, queue: nestQueue, peer }, [
        { task: 'e2e.add', args: [2, 3] },
        { task: 'e2e.greet', args: ['Guido'], kwargs: { greeting: 'hallo' } },
        { task: 'e2e.value-error', args: ['py'] },
        { task: 'e2e.insufficient', args: [9] },
        { task: 'e2e.guarded', args: [1], kwargs: { role: 'guest' } },
      ]);
      expect(sum).toMatchObject({ state: 'SUCCESS', result: 5 });
      expect(greeting).toMatchObject({ state: 'SUCCESS', result: 'hallo Guido' });
      // `except ValueError:` catches it in Python
      expect(valueError).toMatchObject({
        state: 'FAILURE',
        exc_type: 'ValueError',
        exc_module: 'builtins',
        exc_args: ['bad value: py'],
        exc_is_value_error: true,
      });
      // a module Python does not have: Celery builds an exception class of that name
      expect(mapped).toMatchObject({ state: 'FAILURE', exc_type: 'InsufficientFunds', exc_args: ['need 9 more'] });
      expect(forbidden).toMatchObject({ state: 'FAILURE', exc_type: 'ForbiddenException', exc_args: ['Forbidden resource'] });
    }, 60_000);

    test("kwargs from Python bind by name to a contract's params; a call Python refuses is its TypeError (issue 11)", async () => {
      const out = await pythonClient({ broker: BROKER, backend: REDIS_URL, queue: nestQueue, peer }, [
        { task: 'e2e.add', kwargs: { x: 4, y: 5 } },
        { task: 'e2e.add', args: [4], kwargs: { y: 5 } },
        { task: 'e2e.add', kwargs: { x: 4 } },
        { task: 'e2e.greet', args: ['Guido'], kwargs: { greeting: 'hi' } },
        { task: 'e2e.echo', args: [4], kwargs: { y: 5 } },
      ]);
      expect(out[0]).toMatchObject({ state: 'SUCCESS', result: 9 });
      expect(out[1]).toMatchObject({ state: 'SUCCESS', result: 9 });
      expect(out[2]).toMatchObject({
        state: 'FAILURE',
        exc_type: 'TypeError',
        exc_module: 'builtins',
        exc_args: ["add() missing 1 required positional argument: 'y'"],
      });
      // '**kwargs' in the contract's params: the keywords come as one object after the args
      expect(out[3]).toMatchObject({ state: 'SUCCESS', result: 'hi Guido' });
      // no params and no @Kwargs(): keywords cannot be placed, so Python's TypeError, never a result
      expect(out[4]).toMatchObject({ state: 'FAILURE', exc_type: 'TypeError', exc_module: 'builtins' });
      expect((out[4] as { exc_args: string[] }).exc_args[0]).toMatch(/^echo\(\) got an unexpected keyword argument 'y': .*declare them with params/);
    }, 60_000);

    test('a Nest CeleryClient calls a Python worker', async () => {
      pyWorker = await startPythonWorker({ broker: BROKER, backend: REDIS_URL, queue: pyQueue, peer });
      const client = new CeleryClient({ broker: BROKER, backend: REDIS_URL, taskDefaultQueue: pyQueue, logger: silentLogger });
      try {
        await expect(lastValueFrom(client.call(pyAdd, [20, 22]))).resolves.toBe(42);
        await expect(lastValueFrom(client.send('py.echo', { args: [1], kwargs: { k: 'v' } }))).resolves.toEqual({ args: [1], kwargs: { k: 'v' } });
        const failure = await lastValueFrom(client.send('py.fail', ['from python'])).catch((e: unknown) => e);
        expect(failure).toBeInstanceOf(CeleryTaskError);
        expect(failure).toMatchObject({ excType: 'ValueError', excModule: 'builtins', excMessage: ['from python'] });
      } finally {
        await client.close();
      }
    }, 60_000);
  });
