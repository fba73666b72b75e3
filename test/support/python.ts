/** Run real Python Celery (5.2 by default; 5.5 / 5.6 from test/support/peers.ts) as the other side of interop tests. */
import { hostname } from 'node:os';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CELERY_PEERS, CELERY_VERSIONS, pythonPathFor, type CeleryVersion } from './peers.js';
import { PYTHON, describeIfAvailable, type ServiceName } from './services.js';

export const PYTHON_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'interop', 'python');

export interface PythonEnv {
  broker: string;
  backend: string;
  queue: string;
  protocol?: 1 | 2;
  /** Which Python Celery runs (CELERY_PEERS); 5.2, Debian bookworm's, by default. */
  peer?: CeleryVersion;
  /** broker_use_ssl for the Python app (py-amqp keys; cert_reqs 'required' | 'none') */
  brokerUseSsl?: Record<string, string>;
  /** result_backend_transport_options for the Python app */
  resultBackendTransportOptions?: Record<string, unknown>;
  /** more environment for the Python app (INTEROP_QUEUE_TYPE … read by interop_app.py) */
  env?: Record<string, string>;
}

/** Every Python Celery the interop suites run against, for `describe.each`. */
export function celeryPeers(): { version: CeleryVersion; peer: CeleryVersion }[] {
  return CELERY_VERSIONS.map((version) => ({ version, peer: version }));
}

/**
 * One `describe` per Celery peer for a suite's blocks: each needs `services` plus that peer's Celery
 * (python-celery for 5.2, celery-5.5 / celery-5.6 from scripts/interop/celery-peers.sh), so locally a
 * missing 5.5/5.6 cache skips only its own block with one "skipped:" line, and CI=true fails instead.
 */
export async function peerSuites(
  suite: string,
  ...services: ServiceName[]
): Promise<{ version: CeleryVersion; peer: CeleryVersion; describe: jest.Describe }[]> {
  const out: { version: CeleryVersion; peer: CeleryVersion; describe: jest.Describe }[] = [];
  for (const { version, peer } of celeryPeers()) {
    const celery: ServiceName = version === '5.2' ? 'python-celery' : version === '5.5' ? 'celery-5.5' : 'celery-5.6';
    out.push({ version, peer, describe: await describeIfAvailable(`${suite} (Python Celery ${version})`, ...services, celery) });
  }
  return out;
}

/** The environment test/interop/python/interop_app.py reads its broker, backend and queue from. */
export function envFor(e: PythonEnv): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...CELERY_PEERS[e.peer ?? '5.2'].env,
    PYTHONPATH: pythonPathFor(e.peer ?? '5.2', PYTHON_DIR),
    ...e.env,
    PYTHONUNBUFFERED: '1',
    INTEROP_BROKER: e.broker,
    INTEROP_BACKEND: e.backend,
    INTEROP_QUEUE: e.queue,
    INTEROP_PROTOCOL: String(e.protocol ?? 2),
    ...(e.brokerUseSsl ? { INTEROP_BROKER_USE_SSL: JSON.stringify(e.brokerUseSsl) } : {}),
    ...(e.resultBackendTransportOptions ? { INTEROP_RESULT_BACKEND_TRANSPORT_OPTIONS: JSON.stringify(e.resultBackendTransportOptions) } : {}),
  };
}

/** Run a Python script from test/interop/python with JSON on stdin; resolves its parsed JSON stdout. */
export function runPython<T = unknown>(script: string, env: PythonEnv, input: unknown, args: string[] = [], timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [join(PYTHON_DIR, script), ...args], { env: envFor(env), cwd: PYTHON_DIR });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${script} exited with ${code}\n${err}`));
      try {
        resolve(JSON.parse(out) as T);
      } catch {
        reject(new Error(`${script} printed no JSON: ${out}\n${err}`));
      }
    });
    child.stdin.end(JSON.stringify(input));
  });
}

/** Outcome of one call made by test/interop/python/interop_client.py. */
export interface PythonOutcome {
  id: string;
  state: string;
  result?: unknown;
  exc_type?: string;
  exc_module?: string;
  exc_args?: unknown[];
  exc_is_value_error?: boolean;
  traceback?: string | null;
}

export interface PythonCall {
  task: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  options?: Record<string, unknown>;
}

/** Send tasks with Python's `app.send_task` and wait for them with `AsyncResult.get()`. */
export function pythonClient(env: PythonEnv, calls: PythonCall[], timeoutSeconds = 30): Promise<PythonOutcome[]> {
  return runPython<PythonOutcome[]>('interop_client.py', env, calls, [String(timeoutSeconds)], (timeoutSeconds + 30) * 1000);
}

export interface PythonWorker {
  readonly process: ChildProcess;
  readonly output: () => string;
  /** its node name, as `-d` and replies name it */
  readonly nodename: string;
  stop(): Promise<void>;
}

/**
 * Start `celery worker -P solo` on the interop app; resolves once it reports ready (within
 * `readyTimeoutMs`: more when many start at once on a loaded machine).
 */
export function startPythonWorker(env: PythonEnv, extraArgs: string[] = [], readyTimeoutMs = 30_000): Promise<PythonWorker> {
  const nodename = `py-${process.pid}-${Math.random().toString(36).slice(2, 8)}@%h`;
  const child = spawn(
    PYTHON,
    [
      '-m',
      'celery',
      '-A',
      'interop_app',
      'worker',
      '-P',
      'solo',
      '-Q',
      env.queue,
      '-n',
      nodename,
      '--without-heartbeat',
      '--without-gossip',
      '--without-mingle',
      '-l',
      'info',
      ...extraArgs,
    ],
    { env: envFor(env), cwd: PYTHON_DIR },
  );
  let output = '';
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`Python worker did not become ready in ${readyTimeoutMs / 1000} s:\n${output}`));
    }, readyTimeoutMs);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (/ready\./.test(output)) {
        clearTimeout(timer);
        resolve({ process: child, output: () => output, nodename: nodename.replace('%h', hostname()), stop });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Python worker exited early (${code}):\n${output}`));
    });
  });
}

/**
 * `test` when Python Celery `version` is here; otherwise one "skipped:" line and `test.skip`, or a
 * thrown error under CI=true. For a suite whose own services are already up (a private broker).
 */
export function peerTest(suite: string, version: CeleryVersion): jest.It {
  if (CELERY_PEERS[version].available()) return test;
  const msg = `${suite} with Python Celery ${version} needs its peer; start it with scripts/interop/celery-peers.sh`;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`${msg}; CI=true makes it mandatory`);
  process.stdout.write(`skipped: ${msg}\n`);
  return test.skip;
}
