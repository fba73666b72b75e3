/**
 * The worker over a bound (issue 12), on the memory transport: one clear log line, FAILURE
 * stored when the id is known (and within its bound), the message rejected, the loop going on.
 * The same over RabbitMQ and Redis: test/engine/bounds.spec.ts.
 */
import * as zlib from 'node:zlib';
import { firstValueFrom } from 'rxjs';
import { silentLogger, type CeleryLogger } from '../../common/logger.js';
import type { ResultMeta } from '../../protocol/result-meta.js';
import { Celery } from '../celery.js';
import { DeclarationLimitError } from '../errors.js';
import { Worker, type WorkerOptions } from './worker.js';
import { BROTLI_1GIB, yamlTaskBomb } from '../../../../../test/fuzz/bombs.js';

let seq = 0;

function setup(options: WorkerOptions = {}, acceptContent = ['json']) {
  const name = `bounds-${process.pid}-${++seq}`;
  const lines: string[] = [];
  const logger: CeleryLogger = { log: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
  const app = new Celery({ broker: `memory://${name}`, backend: `memory://${name}`, logger: silentLogger, acceptContent });
  const worker = new Worker(app, { logger, ...options });
  let runs = 0;
  worker.register('t.ok', () => ++runs);
  const publish = async (body: Buffer | string, headers: Record<string, unknown>, contentType = 'application/json') => {
    await app.connect();
    await app.declareQueue('celery');
    await app.broker.publish(
      {
        body: Buffer.isBuffer(body) ? body : Buffer.from(body),
        contentType,
        contentEncoding: 'utf-8',
        headers,
        properties: { correlationId: (headers.id as string | undefined) ?? '', replyTo: app.oid, deliveryMode: 2 },
      },
      { exchange: '', routingKey: 'celery' },
    );
  };
  return { app, worker, lines, publish, runs: () => runs };
}

const v2 = (id: string, extra: Record<string, unknown> = {}) => ({
  lang: 'py',
  task: 't.ok',
  id,
  root_id: id,
  parent_id: null,
  group: null,
  retries: 0,
  timelimit: [null, null],
  ...extra,
});

/** Publish `bad`, then a good task; wait for the good one; return the bad one's stored meta (if any). */
async function refused(h: ReturnType<typeof setup>, id: string, publishBad: () => Promise<void>): Promise<ResultMeta | undefined> {
  await h.worker.start();
  const watched = firstValueFrom(h.app.asyncResult(id).state$);
  await h.app.backend!.onTaskCall(id);
  await publishBad();
  const after = await h.app.sendTask('t.ok');
  await expect(after.get({ timeout: 30_000 })).resolves.toEqual(expect.any(Number));
  const meta = await Promise.race([watched, new Promise<undefined>((r) => setTimeout(() => r(undefined), 200))]);
  await h.worker.stop();
  await h.app.close();
  return meta;
}

describe('worker bounds (memory transport)', () => {
  test('a 1 GiB brotli bomb: MessageTooLarge FAILURE stored, one log line naming the limit, the next task runs', async () => {
    const h = setup();
    const meta = await refused(h, 'bomb-1', () => h.publish(BROTLI_1GIB, v2('bomb-1', { compression: 'application/x-brotli' })));
    expect(meta).toMatchObject({ status: 'FAILURE', result: { exc_type: 'MessageTooLarge' } });
    const line = h.lines.filter((l) => l.includes('rejected message'));
    expect(line).toEqual([expect.stringMatching(/bomb-1.*exceeds the limit of 16777216 bytes/)]);
  }, 60_000);

  test('maxDecompressedBytes is an option', async () => {
    const h = setup({ maxDecompressedBytes: 100 });
    const body = zlib.deflateSync(Buffer.from(JSON.stringify([['x'.repeat(200)], {}, null])));
    const meta = await refused(h, 'bomb-2', () => h.publish(body, v2('bomb-2', { compression: 'zlib' })));
    expect(meta).toMatchObject({ status: 'FAILURE', result: { exc_type: 'MessageTooLarge' } });
  }, 60_000);

  test('a YAML alias bomb (YAML accepted): DecodeError FAILURE stored, the worker stays up', async () => {
    const h = setup({}, ['json', 'yaml']);
    const meta = await refused(h, 'yaml-1', () => h.publish(yamlTaskBomb(), v2('yaml-1'), 'application/x-yaml'));
    expect(meta).toMatchObject({ status: 'FAILURE', result: { exc_type: 'DecodeError' } });
    expect(h.runs()).toBe(1);
  }, 60_000);

  test('a 1 MB task name: InvalidTaskError FAILURE stored; no log line carries the megabyte', async () => {
    const h = setup();
    const meta = await refused(h, 'name-1', () => h.publish('[[], {}, null]', v2('name-1', { task: 'n'.repeat(1024 * 1024) })));
    expect(meta).toMatchObject({ status: 'FAILURE', result: { exc_type: 'InvalidTaskError' } });
    expect(Math.max(...h.lines.map((l) => l.length))).toBeLessThan(10_000);
  }, 60_000);

  test('a 1 MB task id: refused without storing under it, the log line bounded', async () => {
    const h = setup();
    const id = 'i'.repeat(1024 * 1024);
    const meta = await refused(h, id, () => h.publish('[[], {}, null]', v2(id)));
    expect(meta).toBeUndefined();
    expect(await h.app.backend!.get(id)).toBeUndefined();
    expect(h.lines.filter((l) => l.includes('rejected message'))).toEqual([expect.stringMatching(/maxTaskIdLength/)]);
    expect(Math.max(...h.lines.map((l) => l.length))).toBeLessThan(10_000);
  }, 60_000);

  test('every log line is cut at maxLogLineLength', async () => {
    const h = setup({ maxLogLineLength: 200 });
    await refused(h, 'json-1', () => h.publish('[' + '"x",'.repeat(10_000), v2('json-1')));
    expect(h.lines.length).toBeGreaterThan(0);
    expect(Math.max(...h.lines.map((l) => l.length))).toBeLessThan(300);
  }, 60_000);

  test('the start banner shows the transport and result URLs with their passwords masked (an @ in one too)', async () => {
    const lines: string[] = [];
    const logger: CeleryLogger = { ...silentLogger, log: (m) => lines.push(m) };
    const app = new Celery({ broker: `memory://guest:p@ss@banner-${process.pid}`, backend: `memory://u:s3cr@t@banner-${process.pid}`, logger: silentLogger });
    const worker = new Worker(app, { logger });
    await worker.start();
    await worker.stop();
    await app.close();
    const banner = lines.find((l) => l.includes('[config]'))!;
    expect(banner).toContain(`.> transport:   memory://guest:**@banner-${process.pid}`);
    expect(banner).toContain(`.> results:     memory://u:**@banner-${process.pid}`);
    expect(banner).not.toMatch(/ss@|s3cr/);
  }, 60_000);

  test('queues declared from sends (canvas steps name theirs in the message) are bounded by maxDeclaredQueues', async () => {
    const name = `declared-${process.pid}`;
    const app = new Celery({ broker: `memory://${name}`, backend: `memory://${name}`, logger: silentLogger, maxDeclaredQueues: 3 });
    for (const q of ['q1', 'q2', 'q3', 'q1']) await app.sendTask('t', [], {}, { queue: q, ignoreResult: true });
    await expect(app.sendTask('t', [], {}, { queue: 'q4', ignoreResult: true })).rejects.toThrow(DeclarationLimitError);
    await expect(app.sendTask('t', [], {}, { queue: 'q4', ignoreResult: true })).rejects.toThrow(/declared 3 queues already \(maxDeclaredQueues\)/);
    await app.sendTask('t', [], {}, { queue: 'q2', ignoreResult: true });
    await app.close();
  }, 60_000);
});
