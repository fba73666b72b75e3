/**
 * metrics and tracing as CeleryModule options (memory transport): a Nest client's send and the
 * module's worker are counted in the given registry and traced as one trace, producer → consumer.
 */
import { context, SpanKind, trace } from '@opentelemetry/api';
import { Test, type TestingModule } from '@nestjs/testing';
import { Registry } from 'prom-client';
import { lastValueFrom } from 'rxjs';
import { CeleryClient, CeleryModule } from 'nestjs-celery';
import { eventually } from '../support/eventually.js';
import { metricValue } from '../support/metrics.js';
import { testTracing } from '../support/otel.js';
import { memoryUrls } from './support/memory-urls.js';
import { MathTasks } from './support/tasks.fixture.js';

describe('CeleryModule with metrics and tracing', () => {
  const registry = new Registry();
  const otel = testTracing();
  let moduleRef: TestingModule;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [CeleryModule.forRoot({ ...memoryUrls('observability'), worker: true, metrics: { registry }, tracing: { tracerProvider: otel.provider } })],
      providers: [MathTasks],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
  });

  afterAll(async () => {
    await moduleRef?.close();
    await otel.shutdown();
  });

  test('a send through CeleryClient is counted and traced into the worker', async () => {
    const client = moduleRef.get(CeleryClient);
    const root = otel.provider.getTracer('test').startSpan('http');
    await expect(context.with(trace.setSpan(context.active(), root), () => lastValueFrom(client.send('e2e.add', [2, 3])))).resolves.toBe(5);
    root.end();
    // the result is stored before the consumer span ends (postrun)
    await eventually(() => otel.spans().some((s) => s.name === 'run/e2e.add'), 'the consumer span');
    expect(await metricValue(registry, 'celery_tasks_published_total', { task: 'e2e.add' })).toBe(1);
    expect(await metricValue(registry, 'celery_tasks_succeeded_total', { task: 'e2e.add' })).toBe(1);
    const publish = otel.spans().find((s) => s.name === 'apply_async/e2e.add')!;
    const run = otel.spans().find((s) => s.name === 'run/e2e.add')!;
    expect(publish.kind).toBe(SpanKind.PRODUCER);
    expect(otel.parentOf(publish)).toBe(root.spanContext().spanId);
    expect(otel.parentOf(run)).toBe(publish.spanContext().spanId);
  });
});
