/**
 * The Nest face over real brokers: a standalone CeleryServer microservice and a hybrid HTTP app,
 * on Redis and on RabbitMQ (results in Redis). Each transport needs its services running.
 */
import type { INestMicroservice } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { lastValueFrom, toArray } from 'rxjs';
import { CeleryClient, CeleryModule, CeleryServer, type CeleryTaskUpdate } from 'nestjs-celery';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { deleteQueues } from '../support/cleanup.js';
import { AMQP_URL, REDIS_URL, describeIfAvailable, uniqueName, type ServiceName } from '../support/services.js';
import { addTask, greetTask } from './support/contracts.js';
import { startHybridApp } from './support/hybrid-app.js';
import { PatternModule } from './support/server.fixture.js';
import { InsufficientFunds, MathTasks, ProgressTasks, RecordTasks, recorded } from './support/tasks.fixture.js';
import { waitFor } from './support/wait-for.js';

interface RealTransport {
  label: string;
  services: ServiceName[];
  broker: string;
  backend: string;
}

const transports: RealTransport[] = [
  { label: 'Redis broker, Redis backend', services: ['redis'], broker: REDIS_URL, backend: REDIS_URL },
  { label: 'RabbitMQ broker, Redis backend', services: ['rabbitmq', 'redis'], broker: AMQP_URL, backend: REDIS_URL },
];

for (const transport of transports) {
  const describeTransport = await describeIfAvailable(`e2e over ${transport.label}`, ...transport.services);

  describeTransport(`e2e over ${transport.label}`, () => {
    const tag = uniqueName('e2e');
    const workerQueue = `${tag}.worker`;
    const hybridQueue = `${tag}.hybrid`;
    const connection = (queue: string) => ({
      broker: transport.broker,
      backend: transport.backend,
      taskDefaultQueue: queue,
      resultExpires: 300,
      logger: silentLogger,
    });
    let microservice: INestMicroservice;
    let callerRef: TestingModule;
    let client: CeleryClient;

    beforeAll(async () => {
      // the worker: a standalone microservice whose CeleryServer takes CeleryModule's options
      const workerRef = await Test.createTestingModule({
        imports: [CeleryModule.forRoot({ ...connection(workerQueue), errors: [[InsufficientFunds, 'billing.errors.InsufficientFunds']] }), PatternModule],
        providers: [MathTasks, ProgressTasks, RecordTasks],
      }).compile();
      microservice = workerRef.createNestMicroservice({ strategy: new CeleryServer(), logger: false });
      await microservice.listen();
      // the caller: another app with only a client
      callerRef = await Test.createTestingModule({ imports: [CeleryModule.forRoot(connection(workerQueue))] }).compile();
      callerRef.useLogger(false);
      await callerRef.init();
      client = callerRef.get(CeleryClient);
    }, 30_000);

    afterAll(async () => {
      await callerRef?.close();
      await microservice?.close();
      await deleteQueues(transport.broker, [workerQueue, hybridQueue]);
    }, 30_000);

    test('a typed call runs on the other app and its result comes back', async () => {
      await expect(lastValueFrom(client.call(addTask, [19, 23]))).resolves.toBe(42);
      await expect(lastValueFrom(client.call(greetTask, ['Ada'], { greeting: 'hi' }))).resolves.toBe('hi Ada');
    });

    test('@MessagePattern and decorated @CeleryTask handlers', async () => {
      await expect(lastValueFrom(client.send('e2e.mp.sum', [1, 2, 3]))).resolves.toBe(6);
      await expect(lastValueFrom(client.send('e2e.decorated', { args: ['7'], kwargs: { unit: 'm' } }))).resolves.toMatchObject({
        n: 7,
        unit: 'm',
        queue: workerQueue,
      });
    });

    test('failures arrive as Python exceptions (builtin and mapped)', async () => {
      await expect(lastValueFrom(client.send('e2e.value-error', ['v']))).rejects.toMatchObject({
        excType: 'ValueError',
        excModule: 'builtins',
        excMessage: ['bad value: v'],
      });
      await expect(lastValueFrom(client.send('e2e.insufficient', [5]))).rejects.toMatchObject({ excType: 'InsufficientFunds', excModule: 'billing.errors' });
    });

    test('PROGRESS states reach the client before the result', async () => {
      const updates = await lastValueFrom(client.sendWithStates<string>('e2e.steps', [3]).pipe(toArray()));
      expect(updates[updates.length - 1]).toMatchObject({ ready: true, result: 'finished 3' });
      const progress = updates.filter((u): u is Extract<CeleryTaskUpdate, { ready: false }> => !u.ready);
      expect(progress.length).toBeGreaterThan(0);
      expect(progress[progress.length - 1]).toMatchObject({ state: 'PROGRESS', meta: { done: 3, total: 3 } });
    });

    test('emit: the task runs, no result is stored', async () => {
      const taskId = `${tag}-emit`;
      await lastValueFrom(client.emit('e2e.record', { args: ['real'] }, { taskId }), { defaultValue: undefined });
      await waitFor(() => recorded.some((r) => (r as { id: string }).id === taskId), undefined, 'the emitted task');
      await expect(client.asyncResult(taskId).state()).resolves.toBe('PENDING');
    });

    test('hybrid HTTP app: a route sends a task to its own CeleryServer', async () => {
      const { app, url } = await startHybridApp(connection(hybridQueue));
      try {
        const response = await fetch(`${url}/math/add/2/40`);
        await expect(response.text()).resolves.toBe('42');
      } finally {
        await app.close();
      }
    }, 20_000);
  });
}
