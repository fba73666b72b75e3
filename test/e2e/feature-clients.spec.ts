/**
 * CeleryModule.registerClient / registerClientAsync: named clients declared in feature modules, injected
 * with @InjectCeleryClient, the root's options as defaults, the root's connection shared when the
 * connection settings are the same (memory transport, and a real Redis broker).
 */
import { Injectable, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { CeleryClient, CeleryModule, CeleryTask, InjectCeleryClient, type TaskContext as TaskContextType, TaskContext } from 'nestjs-celery';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { deleteQueues } from '../support/cleanup.js';
import { REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';
import { memoryUrls } from './support/memory-urls.js';

@Injectable()
class WhereTasks {
  @CeleryTask('feature.where')
  where(@TaskContext() task: TaskContextType): string {
    return String(task.deliveryInfo.routingKey);
  }
}

@Injectable()
class ReportsService {
  constructor(
    @InjectCeleryClient('reports') readonly reports: CeleryClient,
    @InjectCeleryClient('audit') readonly audit: CeleryClient,
  ) {}
}

const otherUrls = memoryUrls('feature-other');

@Module({
  imports: [
    CeleryModule.registerClient({ name: 'reports', taskDefaultQueue: 'reports' }),
    CeleryModule.registerClientAsync({ name: 'audit', useFactory: async () => ({ ...otherUrls, taskDefaultQueue: 'audit' }) }),
  ],
  providers: [ReportsService],
})
class ReportsModule {}

describe('feature-module clients (memory transport)', () => {
  let moduleRef: TestingModule;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [CeleryModule.forRoot({ ...memoryUrls('feature'), worker: { queues: ['celery', 'reports'] } }), ReportsModule],
      providers: [WhereTasks],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
  });

  afterAll(async () => {
    await moduleRef?.close();
  });

  test("a feature module's client takes the root's options as defaults, its own over them, and shares the root's connection", async () => {
    const root = moduleRef.get(CeleryClient);
    const { reports } = moduleRef.get(ReportsService);
    expect(reports).not.toBe(root);
    expect(reports.unwrap().broker).toBe(root.unwrap().broker);
    expect(reports.unwrap().backend).toBe(root.unwrap().backend);
    // its own taskDefaultQueue routes the task; the root's worker consumes that queue
    await expect(reports.sendTask('feature.where').then((r) => r.get({ timeout: 20_000 }))).resolves.toBe('reports');
    await expect(root.sendTask('feature.where').then((r) => r.get({ timeout: 20_000 }))).resolves.toBe('celery');
  }, 60_000);

  test('a client with another broker (registerClientAsync) opens its own connection', async () => {
    const root = moduleRef.get(CeleryClient);
    const { audit } = moduleRef.get(ReportsService);
    expect(audit.unwrap().broker).not.toBe(root.unwrap().broker);
    const sent = await audit.sendTask('feature.where');
    expect(sent.id).toEqual(expect.any(String));
  }, 60_000);

  test('the name "default" is the root client and cannot be registered', () => {
    expect(() => CeleryModule.registerClient({ name: 'default' })).toThrow(/other than "default"/);
  });
});

const describeRedis = await describeIfAvailable('feature-module clients on Redis', 'redis');

describeRedis('feature-module clients on a real Redis broker', () => {
  const queue = uniqueName('feature.reports');
  let moduleRef: TestingModule;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [
        CeleryModule.forRoot({ broker: REDIS_URL, backend: REDIS_URL, logger: silentLogger, worker: { queues: [queue] } }),
        CeleryModule.registerClient({ name: 'reports', taskDefaultQueue: queue }),
      ],
      providers: [WhereTasks],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
  }, 60_000);

  afterAll(async () => {
    await moduleRef?.close();
    await deleteQueues(REDIS_URL, [queue]);
  }, 60_000);

  test("one connection: the feature client publishes through the root's broker, and app close ends it once", async () => {
    const root = moduleRef.get(CeleryClient);
    const reports = moduleRef.get<CeleryClient>('CeleryClient:reports');
    expect(reports.unwrap().broker).toBe(root.unwrap().broker);
    await expect(reports.sendTask('feature.where').then((r) => r.get({ timeout: 30_000 }))).resolves.toBe(queue);
  }, 60_000);
});
