// Starts test/pool/pool-worker.mjs (a worker with the processes pool, from the built library) and stops it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
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

const LIB = join(ROOT, 'libs', 'nestjs-celery');
const STAMP = join(LIB, 'dist', '.built');
const LOCK = join(LIB, '.build-lock');

/** The newest modification time of the library's sources (ms). */
async function newestSource(dir = join(LIB, 'src')): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? await newestSource(path) : (await stat(path)).mtimeMs);
  }
  return newest;
}

/**
 * The pool's workers and children load the built library, as a user's process would: build it (a fresh clone has
 * none). Suites run in parallel, and a child loads modules whenever a pool starts one: one suite builds (under a lock
 * directory), the others wait, and a build newer than every source is not redone, so no child reads a file being
 * rewritten.
 */
export async function buildLibrary(): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // a lock left by a killed run is taken over after the deadline
      if (Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    const built = await stat(STAMP).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    if (built > (await newestSource())) return;
    await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(LIB, 'tsconfig.lib.json')]);
    await writeFile(STAMP, new Date().toISOString());
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
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
