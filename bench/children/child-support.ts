/** What every Node child of the bench shares: its config from the parent, IPC replies, a clean exit. */
import type { ChildMessage } from '../processes.js';

export function childConfig<T>(): T {
  const raw = process.env.BENCH_CHILD;
  if (!raw) throw new Error('BENCH_CHILD is not set: this file is started by bench/run.ts, not by hand');
  return JSON.parse(raw) as T;
}

export function reply(message: ChildMessage): void {
  process.send?.(message);
}

/**
 * On the parent's "stop": run `stop`, answer "stopped" (with this process's CPU time), then
 * exit normally so `--cpu-prof` writes its profile. A lost parent also stops the child.
 */
export function onStop(stop: () => Promise<Record<string, unknown> | void>): void {
  let stopping = false;
  const run = async () => {
    if (stopping) return;
    stopping = true;
    let extra: Record<string, unknown> | void = {};
    try {
      extra = await stop();
    } catch (error) {
      process.stderr.write(`stopping failed: ${(error as Error)?.stack ?? String(error)}\n`);
    }
    const cpu = process.cpuUsage();
    reply({ type: 'stopped', cpuMs: (cpu.user + cpu.system) / 1000, ...(extra ?? {}) });
    setImmediate(() => process.exit(0));
  };
  process.on('message', (m: ChildMessage) => {
    if (m.type === 'stop') void run();
  });
  process.on('disconnect', () => void run());
}

/** Report a fatal error to the parent's log and exit non-zero. */
export function fail(error: unknown): never {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
}
