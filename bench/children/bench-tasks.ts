/**
 * The bench's tasks, registered on our event-loop worker and loaded by each child of our
 * processes pool (this module is the pool's entry). The same names and arguments as
 * bench/python/bench_app.py; every one returns x + y, so the bench checks each result.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** What a pool entry's default export receives: something tasks register on. */
interface TaskRegistry {
  register(name: string, handler: (args: unknown[]) => unknown): unknown;
}

/** 1 MiB of fixed bytes: bench.hash feeds it to SHA-256 `mib` times (OpenSSL, as Python's hashlib) */
const BLOCK = Buffer.alloc(1024 * 1024, 0x5a);

/**
 * BENCH_WRONG_RESULT=1, for checking the bench itself only: bench.add returns x + y + 1, which
 * every drain's result check must catch (the run then exits 1; bench/README.md, "Short mode").
 */
const WRONG = process.env.BENCH_WRONG_RESULT === '1' ? 1 : 0;

export default function registerBenchTasks(worker: TaskRegistry): void {
  worker.register('bench.add', ([x, y]) => (x as number) + (y as number) + WRONG);
  // CPU-bound: a fixed amount of work (not a fixed time, so two tasks sharing one core take twice as long)
  worker.register('bench.hash', ([x, y, mib]) => {
    const hash = createHash('sha256');
    for (let i = 0; i < (mib as number); i++) hash.update(BLOCK);
    hash.digest();
    return (x as number) + (y as number);
  });
  // I/O-bound: an awaited timer
  worker.register('bench.sleep', async ([x, y, ms]) => {
    await sleep(ms as number);
    return (x as number) + (y as number);
  });
}
