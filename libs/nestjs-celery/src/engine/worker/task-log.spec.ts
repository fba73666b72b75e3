// The worker's operator-facing lines: Celery's wording per task event, one failure line with its
// traceback, the startup banner, fields and lines bounded, level and JSON-lines format.
import { expect, jest } from '@jest/globals';
import type { CeleryLogger } from '../../common/logger.js';
import { MemoryBackend } from '../../transport/memory/memory.backend.js';
import { MemoryBroker } from '../../transport/memory/memory.broker.js';
import { Celery } from '../celery.js';
import type { CeleryOptions } from '../celery.options.js';
import { Worker } from './worker.js';

let seq = 0;
type Line = { level: 'log' | 'warn' | 'error' | 'debug'; text: string };

function setup(options: CeleryOptions = {}, withLogger = true) {
  const name = `task-log-${process.pid}-${++seq}`;
  const lines: Line[] = [];
  const push = (level: Line['level']) => (text: string) => void lines.push({ level, text });
  const logger: CeleryLogger | undefined = withLogger ? { log: push('log'), warn: push('warn'), error: push('error'), debug: push('debug') } : undefined;
  const app = new Celery({ broker: new MemoryBroker(`memory://${name}`), backend: new MemoryBackend(`memory://${name}`), ...options, logger });
  const worker = new Worker(app, { logger, hostname: `logs@${name}` });
  return { app, worker, lines };
}

const about = (lines: Line[], id: string) => lines.filter((l) => l.text.includes(id));

describe('worker log lines (Celery wording)', () => {
  test('received and succeeded, with runtime and the result repr', async () => {
    const { app, worker, lines } = setup();
    worker.register('tasks.add', ([x, y]) => (x as number) + (y as number));
    await worker.start();
    const r = await app.sendTask('tasks.add', [4, 5]);
    await r.get({ timeout: 10_000 });
    await worker.stop();
    await app.close();
    const mine = about(lines, r.id);
    expect(mine[0]).toEqual({ level: 'log', text: `Task tasks.add[${r.id}] received` });
    expect(mine[1].level).toBe('log');
    expect(mine[1].text).toMatch(new RegExp(`^Task tasks\\.add\\[${r.id}\\] succeeded in \\d+(\\.\\d+)?(e-\\d+)?s: 9$`));
    expect(mine).toHaveLength(2);
  });

  test('a failure is one error line: the exception repr, then the traceback', async () => {
    const { app, worker, lines } = setup();
    worker.register('tasks.fail', () => {
      throw new Error('nope');
    });
    await worker.start();
    const r = await app.sendTask('tasks.fail');
    await r.get({ timeout: 10_000, propagate: false });
    await worker.stop();
    await app.close();
    const errors = about(lines, r.id).filter((l) => l.level !== 'log');
    expect(errors).toHaveLength(1);
    expect(errors[0].level).toBe('error');
    expect(errors[0].text).toMatch(
      new RegExp(`^Task tasks\\.fail\\[${r.id}\\] raised unexpected: Exception\\('nope'\\)\\nTraceback \\(most recent call last\\):\\n`),
    );
    expect(errors[0].text).toMatch(/\nException: nope$/);
  });

  test('a retry and a revoked (expired) task', async () => {
    const { app, worker, lines } = setup();
    let runs = 0;
    worker.register('tasks.flaky', async (_a, _k, ctx) => {
      if (runs++ === 0) return await ctx.retry({ countdown: 0 });
      return 'ok';
    });
    worker.register('tasks.late', () => 'never');
    await worker.start();
    const r = await app.sendTask('tasks.flaky');
    await r.get({ timeout: 10_000 });
    const late = await app.sendTask('tasks.late', [], {}, { expires: new Date(Date.now() - 1000) });
    await late.get({ timeout: 10_000, propagate: false });
    await worker.stop();
    await app.close();
    expect(about(lines, r.id).map((l) => l.text)).toContainEqual(expect.stringMatching(new RegExp(`^Task tasks\\.flaky\\[${r.id}\\] retry: Retry in 0s`)));
    expect(about(lines, late.id).map((l) => l.text)).toEqual([
      expect.stringMatching(new RegExp(`^Discarding revoked task: tasks\\.late\\[${late.id}\\] \\(expired at `)),
    ]);
  });

  test('every field is bounded: a 1 MB result or a long task name does not make a long line', async () => {
    const { app, worker, lines } = setup();
    // names are refused past maxTaskNameLength (512) when decoded
    const longName = `tasks.${'n'.repeat(500)}`;
    worker.register('tasks.big', () => 'x'.repeat(1_000_000));
    worker.register(longName, () => null);
    await worker.start();
    const big = await app.sendTask('tasks.big');
    await big.get({ timeout: 10_000 });
    const named = await app.sendTask(longName);
    await named.get({ timeout: 10_000 });
    await worker.stop();
    await app.close();
    const succeeded = about(lines, big.id).find((l) => l.text.includes('succeeded'))!;
    expect(succeeded.text.length).toBeLessThan(1300);
    for (const line of about(lines, named.id)) expect(line.text.length).toBeLessThan(1300);
    const banner = lines.find((l) => l.text.includes('[tasks]'))!;
    expect(banner.text.length).toBeLessThanOrEqual(8192 + 100);
  });

  test('the banner: node, version, transport and results, concurrency, task events, queues with types, tasks', async () => {
    const { app, worker, lines } = setup();
    worker.register('tasks.b', () => null);
    worker.register('tasks.a', () => null);
    await worker.start();
    await worker.stop();
    await app.close();
    const banners = lines.filter((l) => l.text.includes('[config]'));
    expect(banners).toHaveLength(1);
    const text = banners[0].text;
    expect(text).toMatch(/^logs@task-log-\d+-\d+ v\S+ \(nestjs-celery\)\n/);
    expect(text).toContain('\n.> transport:   ');
    expect(text).toContain('\n.> results:     ');
    expect(text).toContain('\n.> concurrency: 16 (event loop)\n');
    expect(text).toContain('\n.> task events: OFF');
    expect(text).toMatch(/\n\[queues\]\n\.> celery +exchange=celery\(direct\) key=celery type=classic\n/);
    // Celery's builtins (celery.*) are left out, as Celery's banner does at INFO
    expect(text).toMatch(/\n\[tasks\]\n {2}\. tasks\.a\n {2}\. tasks\.b$/);
  });

  test("logLevel 'warn' drops the info lines, not the failures", async () => {
    const { app, worker, lines } = setup({ logLevel: 'warn' });
    worker.register('tasks.ok', () => 1);
    worker.register('tasks.fail', () => {
      throw new Error('bad');
    });
    await worker.start();
    const ok = await app.sendTask('tasks.ok');
    await ok.get({ timeout: 10_000 });
    const bad = await app.sendTask('tasks.fail');
    await bad.get({ timeout: 10_000, propagate: false });
    await worker.stop();
    await app.close();
    expect(about(lines, ok.id)).toEqual([]);
    expect(about(lines, bad.id).map((l) => l.level)).toEqual(['error']);
    expect(lines.some((l) => l.text.includes('[config]'))).toBe(false);
  });

  test("logFormat 'json' without a logger: one JSON object per line on stdout", async () => {
    const written: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    let id: string;
    try {
      const { app, worker } = setup({ logFormat: 'json' }, false);
      worker.register('tasks.add', ([x, y]) => (x as number) + (y as number));
      await worker.start();
      const r = await app.sendTask('tasks.add', [1, 2]);
      id = r.id;
      await r.get({ timeout: 10_000 });
      await worker.stop();
      await app.close();
    } finally {
      spy.mockRestore();
    }
    const records = written.flatMap((chunk) => chunk.split('\n').filter(Boolean)).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toContainEqual({ time: expect.any(String), level: 'info', context: 'Worker', message: `Task tasks.add[${id}] received` });
    expect(records.find((r) => String(r.message).includes('succeeded'))).toMatchObject({ level: 'info', context: 'Worker' });
    expect(records.find((r) => String(r.message).includes('[config]'))).toMatchObject({ level: 'info' });
  });
});
