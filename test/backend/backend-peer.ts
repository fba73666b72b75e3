/** Drive test/backend/python/backend_peer.py (real Python Celery 5.2) from the backend suites. */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PYTHON } from '../support/services.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'python', 'backend_peer.py');

/** What Python's AsyncResult.get() returned or raised. */
export interface PeerOutcome {
  state: string;
  value?: unknown;
  error_type?: string;
  error_module?: string;
  is_value_error?: boolean;
  args?: unknown[];
}

export interface PeerRun<T> {
  /** the next JSON line the peer prints (lines are queued, none is lost) */
  nextLine(): Promise<unknown>;
  /** the last JSON line, once the peer exited 0 */
  done: Promise<T>;
}

/** Start the peer with one JSON command on its stdin. */
export function startPeer<T = unknown>(command: Record<string, unknown>, timeoutMs = 30_000): PeerRun<T> {
  const child = spawn(PYTHON, [SCRIPT], { env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  const lines: unknown[] = [];
  const readers: ((line: unknown) => void)[] = [];
  let read = 0;
  let partial = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    partial += d.toString();
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl).trim();
      partial = partial.slice(nl + 1);
      if (!line) continue;
      lines.push(JSON.parse(line));
      if (readers.length) readers.shift()!(lines[read++]);
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<T>((resolve, reject) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`backend_peer.py exited with ${code}:\n${stderr}`));
      else resolve(lines[lines.length - 1] as T);
    });
  });
  child.stdin.end(JSON.stringify(command));
  return {
    done,
    nextLine: () => (read < lines.length ? Promise.resolve(lines[read++]) : new Promise((r) => readers.push(r))),
  };
}

/** Run the peer and resolve its last JSON line. */
export function runPeer<T = unknown>(command: Record<string, unknown>, timeoutMs?: number): Promise<T> {
  return startPeer<T>(command, timeoutMs).done;
}
