/**
 * CeleryServer as a Nest transport (memory transport): standalone microservice, hybrid HTTP app,
 * @MessagePattern/@EventPattern handlers, the module's @CeleryTask handlers, status, events.
 */
import { Controller, type INestMicroservice } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom, lastValueFrom, type Observable } from 'rxjs';
import { CeleryClient, CeleryModule, CeleryServer, CeleryTask, CeleryTaskError, Worker, type CeleryStatus, type TaskContext } from 'nestjs-celery';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { memoryUrls } from './support/memory-urls.js';
import { startHybridApp } from './support/hybrid-app.js';
import { PatternModule, events } from './support/server.fixture.js';
import { MathTasks } from './support/tasks.fixture.js';
import { waitFor } from './support/wait-for.js';

const collect = <T>(source: Observable<T>) => {
  const values: T[] = [];
  const subscription = source.subscribe((v) => values.push(v));
  return { values, stop: () => subscription.unsubscribe() };
};

describe('CeleryServer: standalone microservice (memory transport)', () => {
  let app: INestMicroservice;
  let client: CeleryClient;
  let server: CeleryServer;
  let statuses: ReturnType<typeof collect<CeleryStatus>>;
  const outcomes: string[] = [];
  const urls = memoryUrls('server');

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      // no `worker`: the server runs the module's @CeleryTask handlers
      imports: [CeleryModule.forRoot({ ...urls, logger: silentLogger }), PatternModule],
      providers: [MathTasks],
    }).compile();
    server = new CeleryServer(); // takes CeleryModule's options
    statuses = collect(server.status);
    server.on('task-succeeded', (task: TaskContext) => outcomes.push(`ok ${task.task}`));
    server.on('task-failed', (task: TaskContext) => outcomes.push(`failed ${task.task}`));
    app = moduleRef.createNestMicroservice({ strategy: server, logger: false });
    await app.listen();
    client = app.get(CeleryClient);
  });

  afterAll(async () => {
    await app?.close();
  });

  const send = <T>(name: string, payload: unknown) => lastValueFrom(client.send<T>(name, payload));

  test('runs @MessagePattern handlers (transport-bound or not) with the CeleryPayload as data', async () => {
    await expect(send('e2e.mp.sum', [1, 2, 3, 4])).resolves.toBe(10);
    await expect(send('e2e.mp.echo', { args: [1], kwargs: { k: 'v' } })).resolves.toEqual({ args: [1], kwargs: { k: 'v' } });
    await expect(send('e2e.mp.describe', { args: [1], kwargs: { k: 'v' } })).resolves.toEqual({ kwargs: { k: 'v' }, pattern: 'e2e.mp.describe', retries: 0 });
  });

  test("runs the module's @CeleryTask handlers", async () => {
    await expect(send('e2e.add', [40, 2])).resolves.toBe(42);
    await expect(send('e2e.intercepted', [1])).resolves.toBe(20);
  });

  test('@MessagePattern failures pass through Nest RPC exception handling (RpcException error, or "Internal server error")', async () => {
    const rpc = await send('e2e.mp.rpc-error', []).catch((e: unknown) => e);
    expect(rpc).toBeInstanceOf(CeleryTaskError);
    expect(rpc).toMatchObject({ excType: 'Exception', excModule: 'builtins', excMessage: [{ status: 'error', message: 'refused by rule 7' }] });
    const unknown = await send('e2e.mp.key-error', []).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ excType: 'Exception', excMessage: [{ status: 'error', message: 'Internal server error' }] });
  });

  test('@EventPattern handlers run; their result is not stored', async () => {
    const taskId = `event-${Date.now()}`;
    await lastValueFrom(client.emit('e2e.ev.audit', { args: ['login'], kwargs: { user: 'ada' } }, { taskId }), { defaultValue: undefined });
    await waitFor(() => events.some((e) => (e as { id: string }).id === taskId));
    expect(events).toContainEqual({ args: ['login'], kwargs: { user: 'ada' }, id: taskId });
    await expect(client.asyncResult(taskId).state()).resolves.toBe('PENDING');
  });

  test('status reports connected; on() reports task outcomes; unwrap() is the engine worker', async () => {
    expect(statuses.values).toContain('connected');
    await send('e2e.add', [1, 1]);
    await send('e2e.value-error', [0]).catch(() => undefined);
    expect(outcomes).toEqual(expect.arrayContaining(['ok e2e.add', 'failed e2e.value-error']));
    const worker = server.unwrap<Worker>();
    expect(worker).toBeInstanceOf(Worker);
    expect(worker.registry.names()).toEqual(expect.arrayContaining(['e2e.add', 'e2e.mp.sum', 'e2e.mp.describe', 'e2e.ev.audit']));
  });

  test('close() stops the worker and reports disconnected', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [PatternModule] }).compile();
    const own = new CeleryServer({ ...memoryUrls('server-close'), logger: silentLogger });
    const seen = collect(own.status);
    const micro = moduleRef.createNestMicroservice({ strategy: own, logger: false });
    await micro.listen();
    await micro.close();
    expect(seen.values).toEqual(['connected', 'disconnected']);
    expect(() => own.unwrap()).toThrow(/not listening/);
  });
});

describe('CeleryServer: explicit options, no CeleryModule', () => {
  test('serves @MessagePattern handlers on its own connection and queues', async () => {
    const urls = memoryUrls('server-own');
    const moduleRef = await Test.createTestingModule({ imports: [PatternModule] }).compile();
    const app = moduleRef.createNestMicroservice({
      strategy: new CeleryServer({ ...urls, logger: silentLogger, worker: { queues: ['math'], concurrency: 2 } }),
      logger: false,
    });
    await app.listen();
    const client = new CeleryClient({ ...urls, taskDefaultQueue: 'math', logger: silentLogger });
    try {
      await expect(lastValueFrom(client.send('e2e.mp.sum', [5, 5]))).resolves.toBe(10);
    } finally {
      await client.close();
      await app.close();
    }
  });

  test('a task name bound twice makes listen() fail, naming both handlers', async () => {
    @Controller()
    class Twice {
      @MessagePattern('e2e.twice')
      a() {
        return 1;
      }
      @CeleryTask('e2e.twice')
      b() {
        return 2;
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [CeleryModule.forRoot({ ...memoryUrls('twice'), logger: silentLogger })],
      controllers: [Twice],
    }).compile();
    const app = moduleRef.createNestMicroservice({ strategy: new CeleryServer(), logger: false });
    await expect(app.listen()).rejects.toThrow(/"e2e\.twice" is bound twice \(@MessagePattern\('e2e\.twice'\) and Twice\.b\)/);
    await app.close();
  });
});

describe('CeleryServer: hybrid HTTP app', () => {
  test('an HTTP route sends a task the connected CeleryServer runs', async () => {
    const { app, url } = await startHybridApp({ ...memoryUrls('hybrid'), logger: silentLogger });
    try {
      const response = await fetch(`${url}/math/add/20/22`);
      expect(response.status).toBe(200);
      await expect(response.text()).resolves.toBe('42');
      const status = await firstValueFrom(app.getMicroservices()[0].status);
      expect(status).toBe('connected');
    } finally {
      await app.close();
    }
  });
});

describe('CeleryModule worker option: lifecycle', () => {
  test('forRootAsync with a factory and announced named clients; the worker stops on close', async () => {
    const urls = memoryUrls('async');
    const moduleRef = await Test.createTestingModule({
      imports: [
        CeleryModule.forRootAsync({
          useFactory: async () => ({ ...urls, logger: silentLogger, worker: true, clients: [{ name: 'audit', ...urls }] }),
          clientNames: ['audit'],
        }),
      ],
      providers: [MathTasks],
    }).compile();
    await moduleRef.init();
    const audit = moduleRef.get<CeleryClient>('CeleryClient:audit');
    const auditStatus = collect(audit.status);
    await expect(lastValueFrom(audit.send('e2e.add', [2, 2]))).resolves.toBe(4);
    await moduleRef.close();
    // clients close with the app
    expect(auditStatus.values).toEqual(['connected', 'disconnected']);
    // the worker is gone: a new message stays queued
    const late = new CeleryClient({ ...urls, logger: silentLogger });
    await late.sendTask('e2e.add', [1, 1]);
    // read through another memory broker of the same name (they share queues): app.broker loads its family lazily
    expect(new (await import('nestjs-celery/memory')).MemoryBroker(urls.broker).vhost.depth('celery')).toBe(1);
    await late.close();
  });

  test('forRootAsync without announcing a client name: injecting it fails clearly', async () => {
    await expect(
      Test.createTestingModule({
        imports: [CeleryModule.forRootAsync({ useFactory: () => ({ ...memoryUrls('x'), clients: [] }), clientNames: ['ghost'] })],
      }).compile(),
    ).rejects.toThrow(/client "ghost" was announced \(clientNames\) but the options have no clients entry/);
  });
});
