/** Metrics and tracing as observers of real runs on the memory transport: counts, histograms, gauges, spans. */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { silentLogger } from '../../common/logger.js';
import { Reject } from '../../protocol/task-predicates.js';
import { setDriverRequirer } from '../../transport/driver-loader.js';
import { MissingDriverError } from '../../transport/driver.errors.js';
import { MemoryBackend } from '../../transport/memory/memory.backend.js';
import { MemoryBroker } from '../../transport/memory/memory.broker.js';
import { Celery } from '../celery.js';
import type { CeleryOptions } from '../celery.options.js';
import { Worker } from '../worker/worker.js';
import { testTracing } from '../../../../../test/support/otel.js';
import { eventually } from '../../../../../test/support/eventually.js';
import { metricValue as value, samples } from '../../../../../test/support/metrics.js';

let seq = 0;
function setup(options: Partial<CeleryOptions> = {}) {
  const name = `signals-spec-${process.pid}-${++seq}`;
  const app = new Celery({ broker: new MemoryBroker(`memory://${name}`), backend: new MemoryBackend(`memory://${name}`), logger: silentLogger, ...options });
  const worker = new Worker(app, { logger: silentLogger, concurrency: 4 });
  return { app, worker };
}

describe('metrics (prom-client)', () => {
  test('counts each outcome by task and queue, observes runtime and queue wait, gauges end at 0', async () => {
    const registry = new Registry();
    const { app, worker } = setup({ metrics: { registry } });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    worker.register('m.ok', async () => {
      await gate;
      return 1;
    });
    worker.register('m.fail', () => {
      throw new Error('boom');
    });
    worker.register('m.retry', (_a, _k, ctx) => (ctx.retries === 0 ? ctx.retry({ countdown: 0 }) : 'done'));
    worker.register('m.reject', () => {
      throw new Reject('no', false);
    });
    await worker.start();
    const ok = await Promise.all([app.sendTask('m.ok'), app.sendTask('m.ok')]);
    // both held by the gate: 2 in flight
    await eventually(async () => (await value(registry, 'celery_worker_tasks_active')) === 2, 'two tasks in flight');
    release();
    await Promise.all(ok.map((r) => r.get({ timeout: 20_000 })));
    await expect((await app.sendTask('m.fail')).get({ timeout: 20_000 })).rejects.toThrow(/boom/);
    await expect((await app.sendTask('m.retry')).get({ timeout: 20_000 })).resolves.toBe('done');
    await app.sendTask('m.reject');
    await app.sendTask('m.ok', [], {}, { expires: new Date(Date.now() - 1000) });
    const q = { queue: 'celery' };
    await eventually(async () => (await value(registry, 'celery_tasks_rejected_total')) === 1, 'the rejected task');
    await eventually(async () => (await value(registry, 'celery_tasks_revoked_total')) === 1, 'the expired task');

    expect(await value(registry, 'celery_tasks_published_total', { task: 'm.ok', ...q })).toBe(3);
    // the retry is published by the worker's app: the same registry counts it
    expect(await value(registry, 'celery_tasks_published_total', { task: 'm.retry' })).toBe(2);
    expect(await value(registry, 'celery_tasks_received_total', { task: 'm.ok', ...q })).toBe(2);
    expect(await value(registry, 'celery_tasks_started_total', { task: 'm.ok', ...q })).toBe(2);
    expect(await value(registry, 'celery_tasks_succeeded_total', { task: 'm.ok', ...q })).toBe(2);
    expect(await value(registry, 'celery_tasks_failed_total', { task: 'm.fail', ...q })).toBe(1);
    expect(await value(registry, 'celery_tasks_retried_total', { task: 'm.retry', ...q })).toBe(1);
    expect(await value(registry, 'celery_tasks_succeeded_total', { task: 'm.retry', ...q })).toBe(1);
    expect(await value(registry, 'celery_tasks_rejected_total', { task: 'm.reject', ...q })).toBe(1);
    expect(await value(registry, 'celery_tasks_revoked_total', { task: 'm.ok', reason: 'expired', ...q })).toBe(1);
    // runtime: one observation per run (2 ok, 1 fail, 2 retry attempts, 1 reject)
    expect(await value(registry, 'celery_task_runtime_seconds', { le: '+Inf' })).toBe(6);
    expect(await value(registry, 'celery_task_runtime_seconds', { task: 'm.ok' }, '_count')).toBe(2);
    // queue wait from the sent_at header this client added: every started task
    expect(await value(registry, 'celery_task_queue_wait_seconds', {}, '_count')).toBe(6);
    const waitSum = (await samples(registry, 'celery_task_queue_wait_seconds')).filter((s) => s.metricName === 'celery_task_queue_wait_seconds_sum');
    expect(waitSum.every((s) => s.value >= 0 && s.value < 60)).toBe(true);
    expect(await value(registry, 'celery_worker_tasks_active')).toBe(0);
    expect(await value(registry, 'celery_worker_tasks_prefetched')).toBe(0);
    expect(await value(registry, 'celery_connections', { component: 'broker', state: 'connected' })).toBe(1);
    expect(await value(registry, 'celery_connections', { component: 'backend', state: 'connected' })).toBe(1);
    await worker.stop();
    await app.close();
    expect(await value(registry, 'celery_connections', { component: 'broker', state: 'connected' })).toBe(0);
    // the metric names follow Prometheus conventions and are listed in the exposition
    const text = await registry.metrics();
    expect(text).toMatch(/^# TYPE celery_tasks_received_total counter$/m);
    expect(text).toMatch(/^# TYPE celery_task_runtime_seconds histogram$/m);
  });

  test('publish failures are counted; a second app shares the registry without a clash', async () => {
    const registry = new Registry();
    const { app } = setup({ metrics: { registry }, maxPendingPublishes: 0 });
    const other = setup({ metrics: { registry } });
    await expect(app.sendTask('m.x')).rejects.toThrow(/maxPendingPublishes|pending/i);
    await other.app.sendTask('m.x', [], {}, { ignoreResult: true });
    expect(await value(registry, 'celery_task_publish_failures_total', { task: 'm.x', queue: 'celery' })).toBe(1);
    expect(await value(registry, 'celery_tasks_published_total', { task: 'm.x', queue: 'celery' })).toBe(1);
    await app.close();
    await other.app.close();
  });

  test('docs/grafana-dashboard.json queries only metrics this library registers', async () => {
    const registry = new Registry();
    const { app } = setup({ metrics: { registry } });
    const registered = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    const dashboard = readFileSync(new URL('../../../../../docs/grafana-dashboard.json', import.meta.url), 'utf8');
    const used = new Set([...dashboard.matchAll(/\bcelery_[a-z_]+/g)].map(([name]) => name.replace(/_(bucket|sum|count)$/, '')));
    expect(used.size).toBeGreaterThanOrEqual(10);
    expect([...used].filter((name) => !registered.has(name))).toEqual([]);
    await app.close();
  });

  test('prom-client is loaded only when metrics are on, and its absence says how to install it', () => {
    const requested: string[] = [];
    setDriverRequirer((name) => {
      requested.push(name);
      throw Object.assign(new Error(`Cannot find module '${name}'`), { code: 'MODULE_NOT_FOUND' });
    });
    try {
      setup();
      expect(requested).toEqual([]);
      expect(() => setup({ metrics: true })).toThrow(MissingDriverError);
      expect(() => setup({ metrics: true })).toThrow(/npm install prom-client/);
      expect(() => setup({ tracing: true })).toThrow(/npm install @opentelemetry\/api/);
    } finally {
      setDriverRequirer(undefined);
    }
  });
});

describe('tracing (@opentelemetry/api)', () => {
  test('client → worker: producer span child of the caller, consumer span child of the producer, nested sends children of the consumer', async () => {
    const otel = testTracing();
    const { app, worker } = setup({ tracing: { tracerProvider: otel.provider } });
    worker.register('t.child', () => 'c');
    worker.register('t.parent', async () => {
      const child = await app.sendTask('t.child');
      return child.id;
    });
    worker.register('t.fail', () => {
      throw new TypeError('bad');
    });
    worker.register('t.headers', (_args, _kwargs, ctx) => ({ traceparent: ctx.headers.traceparent, nested: 'otel' in ctx.headers }));
    await worker.start();
    const tracer = otel.provider.getTracer('test');
    const root = tracer.startSpan('request');
    const sent = await context.with(trace.setSpan(context.active(), root), () => app.sendTask('t.parent'));
    root.end();
    const childId = (await sent.get({ timeout: 20_000 })) as string;
    await app.asyncResult(childId).get({ timeout: 20_000 });
    await expect((await app.sendTask('t.fail')).get({ timeout: 20_000 })).rejects.toThrow(/bad/);
    await eventually(() => otel.spans().filter((s) => s.name.startsWith('run/')).length === 3, 'three consumer spans');

    const byName = (name: string) => otel.spans().filter((s) => s.name === name);
    const [publish] = byName('apply_async/t.parent');
    const [run] = byName('run/t.parent');
    const [publishChild] = byName('apply_async/t.child');
    const [runChild] = byName('run/t.child');
    expect(publish.kind).toBe(SpanKind.PRODUCER);
    expect(run.kind).toBe(SpanKind.CONSUMER);
    const traceId = root.spanContext().traceId;
    for (const span of [publish, run, publishChild, runChild]) expect(span.spanContext().traceId).toBe(traceId);
    expect(otel.parentOf(publish)).toBe(root.spanContext().spanId);
    expect(otel.parentOf(run)).toBe(publish.spanContext().spanId);
    expect(otel.parentOf(publishChild)).toBe(run.spanContext().spanId);
    expect(otel.parentOf(runChild)).toBe(publishChild.spanContext().spanId);
    expect(publish.attributes).toMatchObject({
      'celery.action': 'apply_async',
      'celery.task_name': 't.parent',
      'messaging.message.id': sent.id,
      'messaging.destination': 'celery',
      'messaging.destination.name': 'celery',
      'messaging.system': 'memory',
      'messaging.operation.type': 'send',
    });
    expect(run.attributes).toMatchObject({
      'celery.action': 'run',
      'celery.task_name': 't.parent',
      'messaging.message.id': sent.id,
      'messaging.destination.name': 'celery',
      'messaging.operation.type': 'process',
      'celery.hostname': worker.hostname,
      'celery.state': 'SUCCESS',
    });
    // where opentelemetry-instrumentation-celery puts it: W3C traceparent as a top-level message header
    const headers = await (await context.with(trace.setSpan(context.active(), root), () => app.sendTask('t.headers'))).get({ timeout: 20_000 });
    const [publishHeaders] = byName('apply_async/t.headers');
    expect(headers).toEqual({ traceparent: `00-${traceId}-${publishHeaders.spanContext().spanId}-01`, nested: false });
    const [failed] = byName('run/t.fail');
    expect(failed.status).toMatchObject({ code: SpanStatusCode.ERROR });
    expect(failed.status.message).toMatch(/TypeError\(bad\)/);
    expect(failed.attributes['celery.state']).toBe('FAILURE');
    expect(failed.events.map((e) => e.name)).toContain('exception');
    await worker.stop();
    await app.close();
    await otel.shutdown();
  });
});
