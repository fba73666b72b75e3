// Starts test/pool/pool-worker.mjs (a worker with the processes pool, from the built library) and stops it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export interface PoolWorker {
  readonly pid: number;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./pool-worker.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The pool's workers and children load the built library, as a user's process would: build it (a fresh clone has none). */
export async function buildLibrary(): Promise<void> {
  await promisify(execFile)(process.execPath, [
    join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    join(ROOT, 'libs', 'nestjs-celery', 'tsconfig.lib.json'),
  ]);
}

/** Resolves once the worker consumes (it printed "ready"); rejects with its output if it exits first. */
export function startPoolWorker(brokerUrl: string, backendUrl: string, queue: string, hostname: string, options: Record<string, unknown>): Promise<PoolWorker> {
  const child = spawn(process.execPath, [SCRIPT, brokerUrl, backendUrl, queue, hostname, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => (output += d));
    child.stdout.on('data', (d) => {
      output += d;
      if (output.includes('ready')) resolve({ pid: child.pid!, process: child, stop });
    });
    child.once('exit', (code, signal) => reject(new Error(`pool worker exited (${code ?? signal}) before it was ready:\n${output}`)));
  });
}
