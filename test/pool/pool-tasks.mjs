// The pool entry of the process-pool suite: each child process loads it and registers these tasks.
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function register(worker) {
  worker.register('pool.pid', () => process.pid);
  worker.register('pool.add', ([x, y]) => x + y);
  // holds its child for `ms` milliseconds (autoscale: a burst of these makes the pool grow)
  worker.register('pool.sleep', ([ms]) => new Promise((resolve) => setTimeout(() => resolve(process.pid), ms)));
  // busy-loops on the child's only thread: only killing the child ends it
  worker.register('pool.spin', () => {
    for (;;);
  });
  // waits for its AbortSignal (the soft time limit) and fails with its reason
  worker.register(
    'pool.wait_abort',
    (_args, _kwargs, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
  );
  // the child dies (SIGKILL, as the OOM killer does) the first time a task id runs; a second run succeeds
  worker.register('pool.crash_once', (_args, _kwargs, ctx) => {
    const marker = join(tmpdir(), `nestjs-celery-pool-crash-${ctx.id}`);
    if (existsSync(marker)) return 'survived';
    writeFileSync(marker, String(process.pid));
    process.kill(process.pid, 'SIGKILL');
    return new Promise(() => undefined);
  });
  worker.register('pool.update_state', async (_args, _kwargs, ctx) => {
    await ctx.updateState('PROGRESS', { done: 1 });
    return 'updated';
  });
  // CPU-bound work for the bench: `ms` milliseconds of SHA-256 rounds
  worker.register('pool.hash', ([ms]) => {
    const end = performance.now() + ms;
    let digest = 'seed';
    while (performance.now() < end) digest = createHash('sha256').update(digest).digest('hex');
    return digest.slice(0, 8);
  });
}
