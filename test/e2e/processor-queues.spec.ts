/**
 * A processor's `queue` (Celery's task attribute) through the Nest face, memory transport: the app's
 * CeleryClient sends a task to the queue its processor or method names, an explicit send option wins,
 * and a worker given no `queues` consumes the queues its tasks name (the task ran, from that queue).
 */
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { CeleryClient, CeleryModule, CeleryProcessor, CeleryTask, TaskContext } from 'nestjs-celery';
import { memoryUrls } from './support/memory-urls.js';

@Injectable()
@CeleryProcessor('reports', { queue: 'reports-q', serializer: 'msgpack' })
class ReportTasks {
  /** the class's queue */
  @CeleryTask('build')
  build(@TaskContext() ctx: TaskContext): string {
    return ctx.deliveryInfo.queue;
  }

  /** the method's own queue overrides the class's */
  @CeleryTask('urgent', { queue: 'urgent-q' })
  urgent(@TaskContext() ctx: TaskContext): string {
    return ctx.deliveryInfo.queue;
  }

  /** binary arguments survive only a binary serializer: msgpack keeps bytes as bytes */
  @CeleryTask('size')
  size(data: Uint8Array): string {
    return `${data instanceof Uint8Array ? 'bytes' : typeof data}:${data.length}`;
  }
}

describe("a processor's queue and serializer (Nest face, memory transport)", () => {
  let moduleRef: TestingModule;
  let client: CeleryClient;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [CeleryModule.forRoot({ ...memoryUrls('processor-queues'), acceptContent: ['json', 'msgpack'], worker: { concurrency: 4 } })],
      providers: [ReportTasks],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    client = moduleRef.get(CeleryClient);
  });

  afterAll(async () => {
    await moduleRef?.close();
  });

  test('the client sends to the queue the processor or the method names; the worker consumes those queues', async () => {
    await expect(lastValueFrom(client.send('reports.build', []))).resolves.toBe('reports-q');
    await expect(lastValueFrom(client.send('reports.urgent', []))).resolves.toBe('urgent-q');
  }, 60_000);

  test('an explicit queue on the send wins over the task attribute', async () => {
    // the worker consumes its tasks' queues only; 'urgent-q' is one of them, so the run proves the route
    await expect(lastValueFrom(client.send('reports.build', [], { queue: 'urgent-q' }))).resolves.toBe('urgent-q');
  }, 60_000);

  test("the processor's serializer (msgpack) carries bytes as bytes, which JSON could not", async () => {
    const data = new Uint8Array([1, 2, 3, 250]);
    await expect(lastValueFrom(client.send('reports.size', [data]))).resolves.toBe('bytes:4');
  }, 60_000);
});

describe("a processor's serializer meets Celery's accept_content (Nest face, memory transport)", () => {
  test('a worker accepting only json refuses its own msgpack task with ContentDisallowed, as a Celery worker does', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [CeleryModule.forRoot({ ...memoryUrls('processor-accept'), worker: { concurrency: 1 } })],
      providers: [ReportTasks],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    try {
      await expect(lastValueFrom(moduleRef.get(CeleryClient).send('reports.build', []))).rejects.toMatchObject({
        excType: 'ContentDisallowed',
      });
    } finally {
      await moduleRef.close();
    }
  }, 60_000);
});
