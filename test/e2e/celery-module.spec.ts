/**
 * CeleryModule with its own worker (memory transport): @CeleryTask discovery on providers and
 * controllers, argument mapping, return kinds, failures as Python exceptions, Nest enhancers,
 * PROGRESS states, named clients and typed contracts.
 */
import { expect } from '@jest/globals';
import { Test, type TestingModule } from '@nestjs/testing';
import { lastValueFrom, toArray } from 'rxjs';
import { CeleryClient, CeleryModule, CeleryTaskError, NoResultBackendError, getCeleryClientToken, type CeleryTaskUpdate } from 'nestjs-celery';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { addTask, greetTask, reportTask } from './support/contracts.js';
import { memoryUrls } from './support/memory-urls.js';
import { waitFor } from './support/wait-for.js';
import { CardDeclined, InsufficientFunds, MathTasks, ProgressTasks, RecordTasks, TasksController, recorded, seen } from './support/tasks.fixture.js';

const TIMEOUT = 5000;

describe('CeleryModule worker (memory transport)', () => {
  let moduleRef: TestingModule;
  let client: CeleryClient;
  let reports: CeleryClient;
  const urls = memoryUrls('module');

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [
        CeleryModule.forRoot({
          ...urls,
          worker: { queues: ['celery', 'reports'], concurrency: 4 },
          clients: [{ name: 'reports', ...urls, taskDefaultQueue: 'reports' }],
          // the subclass mapping is closer in CardDeclined's prototype chain than the base one
          errors: [
            [InsufficientFunds, 'billing.errors.InsufficientFunds'],
            [CardDeclined, 'billing.errors.CardDeclined'],
          ],
        }),
      ],
      providers: [MathTasks, ProgressTasks, RecordTasks],
      controllers: [TasksController],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    client = moduleRef.get(CeleryClient);
    reports = moduleRef.get(getCeleryClientToken('reports'));
  });

  afterAll(async () => {
    await moduleRef?.close();
  });

  const send = <T>(name: string, payload: unknown) => lastValueFrom(client.send<T>(name, payload));
  const failureOf = async (name: string, payload: unknown): Promise<CeleryTaskError> => {
    const error = await send(name, payload).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CeleryTaskError);
    return error as CeleryTaskError;
  };

  describe('argument mapping', () => {
    test('default: positional args are spread', async () => {
      await expect(send('e2e.add', [2, 3])).resolves.toBe(5);
    });

    test("kwargs reach a plain method only through its params ('**kwargs' as one object); without names they are Python's TypeError", async () => {
      await expect(send('e2e.greet', ['Ada'])).resolves.toBe('hello Ada');
      await expect(send('e2e.greet', { args: ['Ada'], kwargs: { greeting: 'hi' } })).resolves.toBe('hi Ada');
      await expect(send('e2e.echo', [1, 'two'])).resolves.toEqual([1, 'two']);
      const error = await failureOf('e2e.echo', { args: [1], kwargs: { k: true } });
      expect(error).toMatchObject({ excType: 'TypeError', excModule: 'builtins' });
      expect(String(error.excMessage[0])).toMatch(/^echo\(\) got an unexpected keyword argument 'k': task "e2e.echo" declares no parameter names/);
      // a plain object payload is the kwargs; CPython names the first unexpected one
      const two = await failureOf('e2e.echo', { only: 'kwargs', and: 1 });
      expect(String(two.excMessage[0])).toMatch(/^echo\(\) got an unexpected keyword argument 'only': /);
    });

    test('@Args/@Kwargs/@TaskContext, with a pipe on one arg', async () => {
      const result = await send<Record<string, unknown>>('e2e.decorated', { args: ['42', 'x'], kwargs: { unit: 'kg' } });
      expect(result).toEqual({ n: 42, unit: 'kg', all: ['42', 'x'], kwargs: { unit: 'kg' }, id: expect.any(String), queue: 'celery' });
    });

    test("Nest's own @Payload() and @Ctx() resolve to the CeleryPayload and CeleryContext", async () => {
      const result = await send<Record<string, unknown>>('e2e.nest-params', { args: [1], kwargs: { a: 2 } });
      expect(result).toEqual({ payload: { args: [1], kwargs: { a: 2 } }, kwargs: { a: 2 }, pattern: 'e2e.nest-params', id: expect.any(String) });
    });

    test('a pipe rejecting an arg fails the task with the pipe exception', async () => {
      const error = await failureOf('e2e.decorated', { args: ['not a number'], kwargs: { unit: 'kg' } });
      expect(error.excType).toBe('BadRequestException');
      expect(error.message).toContain('numeric string is expected');
    });
  });

  describe('returns', () => {
    test('a Promise, an Observable (last value), an empty Observable (null)', async () => {
      await expect(send('e2e.promise', [21])).resolves.toBe(42);
      await expect(send('e2e.observable', [1])).resolves.toBe(3);
      await expect(send('e2e.empty', [])).resolves.toBeNull();
    });

    test('@CeleryTask on a controller is discovered', async () => {
      await expect(send('e2e.from-controller', [7])).resolves.toBe('controller got 7');
    });
  });

  describe('failures reach the client as Python exceptions', () => {
    test('python-errors classes are Python builtins', async () => {
      const error = await failureOf('e2e.value-error', ['x']);
      expect(error).toMatchObject({ excType: 'ValueError', excModule: 'builtins', excMessage: ['bad value: x'], state: 'FAILURE' });
      expect(error.traceback).toContain('ValueError: bad value: x');
    });

    test('the errors option maps app error classes; the closest mapped class wins', async () => {
      await expect(failureOf('e2e.insufficient', [10])).resolves.toMatchObject({
        excType: 'InsufficientFunds',
        excModule: 'billing.errors',
        excMessage: ['need 10 more'],
      });
      await expect(failureOf('e2e.declined', [])).resolves.toMatchObject({ excType: 'CardDeclined', excModule: 'billing.errors' });
    });

    test('an unmapped JS error keeps its builtin Python name', async () => {
      await expect(failureOf('e2e.plain-error', [])).resolves.toMatchObject({ excType: 'TypeError', excModule: 'builtins', excMessage: ['not a function'] });
    });
  });

  describe('Nest enhancers', () => {
    test('a guard sees an rpc context whose data is the payload, and can refuse', async () => {
      await expect(send('e2e.guarded', { args: [5], kwargs: { role: 'admin' } })).resolves.toBe(5);
      expect(seen).toMatchObject({ contextType: 'rpc', data: { args: [5], kwargs: { role: 'admin' } }, pattern: 'e2e.guarded' });
      const error = await failureOf('e2e.guarded', { args: [5], kwargs: { role: 'guest' } });
      expect(error).toMatchObject({ excType: 'ForbiddenException', excMessage: ['Forbidden resource'] });
    });

    test('an interceptor transforms the result and sees the method as the handler', async () => {
      await expect(send('e2e.intercepted', [4])).resolves.toBe(50);
      expect(seen.handlerName).toBe('intercepted');
    });

    test('an exception filter returning a value turns the failure into that result', async () => {
      await expect(send('e2e.recovered', [3])).resolves.toEqual({ recovered: 'short by 3', args: [3] });
    });

    test('an exception filter throwing RpcException fails the task with its message', async () => {
      const error = await failureOf('e2e.rethrown', []);
      expect(error).toMatchObject({ excType: 'RpcException', excMessage: ['wrapped: inner'] });
    });
  });

  test('sendWithStates: PROGRESS from updateState, then the result', async () => {
    const updates = await lastValueFrom(client.sendWithStates<string>('e2e.steps', [3]).pipe(toArray()));
    const last = updates[updates.length - 1];
    expect(last).toEqual({ taskId: expect.any(String), ready: true, state: 'SUCCESS', result: 'finished 3' });
    const progress = updates.filter((u): u is Extract<CeleryTaskUpdate, { ready: false }> => !u.ready);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((u) => u.state === 'PROGRESS' && u.taskId === last.taskId)).toBe(true);
    expect(progress[progress.length - 1].meta).toEqual({ done: 3, total: 3 });
  });

  test('sendWithStates errors with CeleryTaskError on FAILURE', async () => {
    await expect(lastValueFrom(client.sendWithStates('e2e.value-error', [1]))).rejects.toMatchObject({ excType: 'ValueError' });
  });

  describe('clients', () => {
    test('the default client is injectable by class; named clients by token, each its own connection', () => {
      expect(client).toBeInstanceOf(CeleryClient);
      expect(reports).toBeInstanceOf(CeleryClient);
      expect(reports).not.toBe(client);
      expect(reports.unwrap()).not.toBe(client.unwrap());
    });

    test("a named client's own default queue", async () => {
      await expect(lastValueFrom(reports.send('e2e.report', [12]))).resolves.toEqual({ pages: 12, queue: 'reports' });
      await expect(lastValueFrom(client.send('e2e.report', [12]))).resolves.toEqual({ pages: 12, queue: 'celery' });
    });

    test('emit sends without a result: the task runs, nothing is stored', async () => {
      const taskId = `emit-${Date.now()}`;
      await lastValueFrom(client.emit('e2e.record', { args: ['fire'] }, { taskId }), { defaultValue: undefined });
      await waitFor(() => recorded.some((r) => (r as { id: string }).id === taskId));
      expect(recorded).toContainEqual({ args: ['fire'], id: taskId });
      await expect(client.asyncResult(taskId).state()).resolves.toBe('PENDING');
    });

    test('send without a result backend fails before sending', async () => {
      const noBackend = new CeleryClient({ broker: urls.broker, logger: silentLogger });
      await expect(lastValueFrom(noBackend.send('e2e.add', [1, 2]))).rejects.toBeInstanceOf(NoResultBackendError);
      await noBackend.close();
    });
  });

  describe('typed contracts', () => {
    test('call() and sendTask() with a contract', async () => {
      const sum: number = await lastValueFrom(client.call(addTask, [20, 22]));
      expect(sum).toBe(42);
      const result = await client.sendTask(addTask, [1, 2]);
      await expect(result.get({ timeout: TIMEOUT })).resolves.toBe(3);
      await expect(lastValueFrom(client.call(greetTask, ['Lin'], { greeting: 'hey' }))).resolves.toBe('hey Lin');
    });

    test("a contract's default options apply (reportTask routes to the reports queue)", async () => {
      await expect(lastValueFrom(client.call(reportTask, [3]))).resolves.toEqual({ pages: 3, queue: 'reports' });
    });
  });
});
