/**
 * Drive real Python Celery 5.2 for the remote-control and events suites: the `celery` CLI
 * (`inspect`, `status`, `control`) and test/interop/python/control_peer.py.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { PYTHON_DIR, envFor, type PythonEnv } from '../../support/python.js';
import { PYTHON, REDIS_URL } from '../../support/services.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `python3 -m celery -A interop_app <args>`; resolves whatever the exit code. */
export function celeryCli(env: PythonEnv, args: string[], timeoutMs = 30_000): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, ['-m', 'celery', '-A', 'interop_app', ...args], { env: envFor(env), cwd: PYTHON_DIR });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `celery … --json` output: the JSON document the CLI prints (one per line for some commands). */
export function cliJson<T = unknown>(run: CliRun): T {
  const text = run.stdout.trim();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`celery printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

export interface PeerRun<T> {
  /** resolves once the peer printed `listening` on stderr (events: consuming) */
  ready: Promise<void>;
  result: Promise<T>;
}

/** Run control_peer.py with one JSON request. */
export function controlPeer<T = unknown>(env: PythonEnv, request: Record<string, unknown>, timeoutMs = 60_000): PeerRun<T> {
  const child = spawn(PYTHON, [join(PYTHON_DIR, 'control_peer.py')], { env: envFor(env), cwd: PYTHON_DIR });
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.includes('listening')) markReady();
  });
  const result = new Promise<T>((resolve, reject) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      markReady();
      if (code !== 0) return reject(new Error(`control_peer.py exited with ${code}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout) as T);
      } catch {
        reject(new Error(`control_peer.py printed no JSON: ${stdout}\n${stderr}`));
      }
    });
  });
  child.stdin.end(JSON.stringify(request));
  return { ready, result };
}

/**
 * On Redis, kombu deletes a reply queue after each call; an app's remote-control reply queue
 * lives as long as the app, and its binding and list stay after it closed: remove them.
 */
export async function removeRedisReplyQueue(oid: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url);
  try {
    await redis.srem('_kombu.binding.reply.celery.pidbox', `${oid}\x06\x16\x06\x16${oid}.reply.celery.pidbox`);
    await redis.del(`${oid}.reply.celery.pidbox`);
  } finally {
    redis.disconnect();
  }
}
