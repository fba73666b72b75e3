/**
 * Traces across Python Celery (5.5 and 5.6) and ours, over RabbitMQ and Redis, with Python's side traced as
 * opentelemetry-instrumentation-celery does (test/interop/python/otel_peer.py): a task Python sends
 * inside a span runs in our worker under that trace, and one we send runs in Python's under ours.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { deleteQueues } from '../support/cleanup.js';
import { eventually } from '../support/eventually.js';
import { testTracing, type TestTracing } from '../support/otel.js';
import { OTEL_PYTHON_PATH, pythonPathFor, type CeleryVersion } from '../support/peers.js';
import { PYTHON_DIR, runPython, startPythonWorker, type PythonEnv, type PythonWorker } from '../support/python.js';
import { AMQP_URL, REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';

const describeTracing = await describeIfAvailable(
  'tracing interop with Python Celery 5.5 and 5.6',
  'redis',
  'rabbitmq',
  'celery-5.5',
  'celery-5.6',
  'python-otel',
);

const BROKERS = { rabbitmq: AMQP_URL, redis: REDIS_URL } as const;
const PEERS: CeleryVersion[] = ['5.5', '5.6'];
const MATRIX = PEERS.flatMap((peer) => (Object.keys(BROKERS) as (keyof typeof BROKERS)[]).map((broker) => [peer, broker] as const));

/** A span as otel_peer.py writes it. */
interface PySpan {
  name: string;
  kind: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  attributes: Record<string, unknown>;
}

function readSpans(file: string): PySpan[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as PySpan);
}

describeTracing.each(MATRIX)('tracing interop: Celery %s, %s broker', (peer, brokerName) => {
  const brokerUrl = BROKERS[brokerName];
  const nodeQueue = uniqueName('otel.node');
  const pyQueue = uniqueName('otel.py');
  const spansFile = join(tmpdir(), `${uniqueName('otel-spans')}.jsonl`);
  const pythonEnv = (queue: string): PythonEnv => ({
    broker: brokerUrl,
    backend: REDIS_URL,
    queue,
    peer,
    env: { PYTHONPATH: pythonPathFor(peer, PYTHON_DIR, OTEL_PYTHON_PATH), INTEROP_OTEL_SPANS: spansFile },
  });
  let otel: TestTracing;
  let app: Celery;
  let worker: Worker;
  let pyWorker: PythonWorker;

  beforeAll(async () => {
    otel = testTracing();
    app = new Celery({ broker: brokerUrl, backend: REDIS_URL, logger: silentLogger, tracing: { tracerProvider: otel.provider } });
    worker = new Worker(app, { queues: [nodeQueue], logger: silentLogger, concurrency: 2 });
    worker.register('node.traced', ([x]) => (x as number) * 2);
    await worker.start();
    pyWorker = await startPythonWorker(pythonEnv(pyQueue));
  }, 90_000);

  afterAll(async () => {
    await pyWorker?.stop();
    await worker?.stop();
    await app?.close();
    await otel?.shutdown();
    await deleteQueues(brokerUrl, [nodeQueue, pyQueue]);
    rmSync(spansFile, { force: true });
  }, 60_000);

  test('Python sends inside a span: our consumer span continues its trace under Python’s producer span', async () => {
    const out = await runPython<{ id: string; result: number; root: { trace_id: string; span_id: string }; spans: PySpan[] }>(
      'otel_client.py',
      pythonEnv(nodeQueue),
      { task: 'node.traced', args: [21], wait: 120 },
      [],
      180_000,
    );
    expect(out.result).toBe(42);
    const producer = out.spans.find((s) => s.name === 'apply_async/node.traced');
    expect(producer).toMatchObject({ kind: 'PRODUCER', trace_id: out.root.trace_id, parent_span_id: out.root.span_id });
    await eventually(() => otel.spans().some((s) => s.name === 'run/node.traced'), 'our consumer span', 60_000);
    const run = otel.spans().find((s) => s.name === 'run/node.traced')!;
    expect(run.kind).toBe(SpanKind.CONSUMER);
    expect(run.spanContext().traceId).toBe(out.root.trace_id);
    expect(otel.parentOf(run)).toBe(producer!.span_id);
    expect(run.attributes).toMatchObject({ 'celery.action': 'run', 'celery.task_name': 'node.traced', 'messaging.message.id': out.id });
  }, 240_000);

  test('we send inside a span: the Python worker’s task span continues our trace under our producer span', async () => {
    const root = otel.provider.getTracer('test').startSpan('node.request');
    const result = await context.with(trace.setSpan(context.active(), root), () => app.sendTask<number>('py.add', [2, 3], {}, { queue: pyQueue }));
    root.end();
    await expect(result.get({ timeout: 120_000 })).resolves.toBe(5);
    const producer = otel.spans().find((s) => s.name === 'apply_async/py.add' && s.attributes['messaging.message.id'] === result.id)!;
    expect(producer.kind).toBe(SpanKind.PRODUCER);
    expect(otel.parentOf(producer)).toBe(root.spanContext().spanId);
    await eventually(
      () => readSpans(spansFile).some((s) => s.name === 'run/py.add' && s.attributes['messaging.message.id'] === result.id),
      'the Python task span',
      60_000,
    );
    const pyRun = readSpans(spansFile).find((s) => s.name === 'run/py.add' && s.attributes['messaging.message.id'] === result.id)!;
    expect(pyRun).toMatchObject({ kind: 'CONSUMER', trace_id: root.spanContext().traceId, parent_span_id: producer.spanContext().spanId });
    expect(pyRun.attributes['celery.state']).toBe('SUCCESS');
  }, 240_000);
});
