/**
 * The processes the bench starts: Node children (our worker/client, celery-node's worker) that
 * talk over IPC, and Python Celery (worker or a client script). Every child runs in its own
 * process so the bench's bookkeeping never shares an event loop with what it measures.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { config, outPath, ROOT } from './config.js';

const CHILDREN_DIR = join(dirname(fileURLToPath(import.meta.url)), 'children');
const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface ChildMessage {
  type: string;
  [key: string]: unknown;
}

/** Keep the last few KB of a stream for error messages. */
function tail(child: ChildProcess): () => string {
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => out;
}

/** Rejects when the child exits before we asked it to. */
function exitWatch(child: ChildProcess, label: string, output: () => string): { died: Promise<never>; expectExit: () => void; exited: Promise<number | null> } {
  let expected = false;
  let rejectDied!: (e: Error) => void;
  const died = new Promise<never>((_, reject) => (rejectDied = reject));
  died.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      if (!expected) rejectDied(new Error(`${label} exited unexpectedly (${signal ?? code}):\n${output()}`));
      resolve(code);
    }),
  );
  return { died, expectExit: () => (expected = true), exited };
}

/** User+system CPU time of a process so far, ms (from /proc; null when unreadable). */
export function cpuTimeMs(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/**
 * The local RabbitMQ and Redis server processes the bench talks to, to report their CPU use:
 * the process listening on the broker URL's port (the machine may run other RabbitMQ nodes and
 * Redis instances beside them); empty when not local or not found.
 */
export function serverPids(): { name: string; pid: number }[] {
  const listening = (url: string) => {
    const { hostname, port, protocol } = new URL(url);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(hostname)) return undefined;
    const r = spawnSync('ss', ['-Hltnp', `sport = :${port || (protocol.startsWith('amqp') ? 5672 : 6379)}`], { encoding: 'utf8' });
    const pid = /pid=(\d+)/.exec(r.stdout ?? '')?.[1];
    return pid === undefined ? undefined : Number(pid);
  };
  const found: { name: string; pid: number }[] = [];
  for (const [name, url] of [
    ['rabbitmq', config.brokers.amqp],
    ['redis', config.brokers.redis],
    ['redis', config.backend],
  ] as const) {
    const pid = listening(url);
    if (pid !== undefined && !found.some((f) => f.pid === pid)) found.push({ name: found.some((f) => f.name === name) ? `${name} (backend)` : name, pid });
  }
  return found;
}

/** Busy and total jiffies of the whole machine (for "was the machine saturated"). */
export function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = cpu[3] + (cpu[4] ?? 0);
  return { busy: total - idle, total };
}

/** A Node binary to run our worker (and client) with, for the rows per Node major. */
export interface NodeBinary {
  major: number;
  /** e.g. v24.1.0 */
  version: string;
  execPath: string;
}

/**
 * The Node majors of BENCH_NODES other than the bench's own, from scripts/ci/node.sh (which
 * installs a missing one from the npm registry into its cache). A major that cannot be had is
 * returned with its error: the run reports it as a missing result.
 */
export function otherNodeBinaries(majors: number[]): { nodes: NodeBinary[]; unavailable: Record<number, string> } {
  const own = Number(process.versions.node.split('.')[0]);
  const nodes: NodeBinary[] = [];
  const unavailable: Record<number, string> = {};
  for (const major of new Set(majors)) {
    if (major === own) continue;
    const bin = spawnSync(join(ROOT, 'scripts', 'ci', 'node.sh'), [String(major)], { encoding: 'utf8' });
    const execPath = join(bin.stdout?.trim() ?? '', 'node');
    const version = bin.status === 0 ? spawnSync(execPath, ['-v'], { encoding: 'utf8' }) : undefined;
    if (version?.status === 0) nodes.push({ major, version: version.stdout.trim(), execPath });
    else unavailable[major] = `scripts/ci/node.sh ${major} failed: ${(bin.stderr || version?.stderr || '').trim().split('\n').at(-1)}`;
  }
  return { nodes, unavailable };
}

export class NodeChild {
  readonly process: ChildProcess;
  readonly output: () => string;
  readonly died: Promise<never>;
  private readonly expectExit: () => void;
  private readonly exited: Promise<number | null>;
  private readonly inbox: ChildMessage[] = [];
  private waiters: { type: string; resolve: (m: ChildMessage) => void }[] = [];

  /**
   * @param script file name under children/ (compiled .js)
   * @param profileName with BENCH_PROFILE=1, the .cpuprofile name under .bench/profiles
   * @param quiet stdout to /dev/null (celery-node logs a line per task)
   * @param execPath the node binary to run it with (default: the bench's own)
   */
  constructor(
    readonly label: string,
    script: string,
    childConfig: unknown,
    options: { profileName?: string; quiet?: boolean; execArgv?: string[]; execPath?: string } = {},
  ) {
    const execArgv = [...(options.execArgv ?? [])];
    if (config.profile && options.profileName) {
      execArgv.push('--cpu-prof', `--cpu-prof-dir=${dirname(outPath('profiles', 'x'))}`, `--cpu-prof-name=${options.profileName}.cpuprofile`);
    }
    this.process = fork(join(CHILDREN_DIR, script), [], {
      env: { ...process.env, BENCH_CHILD: JSON.stringify(childConfig) },
      execArgv,
      // another Node binary (the bench's worker rows per Node major); default: the bench's own
      execPath: options.execPath,
      stdio: ['ignore', options.quiet ? 'ignore' : 'pipe', 'pipe', 'ipc'],
    });
    this.output = tail(this.process);
    ({ died: this.died, expectExit: this.expectExit, exited: this.exited } = exitWatch(this.process, label, this.output));
    this.process.on('message', (m: ChildMessage) => {
      const i = this.waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
      else this.inbox.push(m);
    });
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** The next message of this type (or one already received). */
  next(type: string, timeoutMs = 120_000): Promise<ChildMessage> {
    const i = this.inbox.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]);
    return new Promise<ChildMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.label}: no "${type}" message in ${timeoutMs / 1000} s:\n${this.output()}`)), timeoutMs);
      const waiter = {
        type,
        resolve: (m: ChildMessage) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      this.waiters.push(waiter);
      this.died.catch((e: Error) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  send(message: ChildMessage): void {
    this.process.send(message);
  }

  /** Ask the child to stop (it answers "stopped" and exits, writing its CPU profile); kill after a grace period. */
  async stop(graceMs = 30_000): Promise<ChildMessage | undefined> {
    this.expectExit();
    if (this.process.exitCode !== null || !this.process.connected) return undefined;
    const stopped = this.next('stopped', graceMs).catch(() => undefined);
    this.send({ type: 'stop' });
    const kill = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    const [message] = await Promise.all([stopped, this.exited]);
    clearTimeout(kill);
    return message;
  }

  kill(): void {
    this.expectExit();
    this.process.kill('SIGKILL');
  }
}

export interface PythonEnv {
  broker: string;
  backend: string;
  queue: string;
  /** RabbitMQ publisher confirms for the Python client (default off, as Celery's) */
  confirmPublish?: boolean;
  /** task_default_queue_type (Celery 5.5+; default: Celery's, classic) */
  queueType?: 'classic' | 'quorum';
  /** exclusive control and event queues (Celery 5.6, for RabbitMQ 4.3's deny-all node) */
  exclusiveQueues?: boolean;
  /** folders after bench/python on PYTHONPATH: another Celery (scripts/interop/celery-peers.sh --print) */
  pythonPath?: string[];
}

function pythonEnv(e: PythonEnv): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PYTHONPATH: [config.pythonDir, ...(e.pythonPath ?? [])].join(':'),
    PYTHONUNBUFFERED: '1',
    BENCH_BROKER: e.broker,
    BENCH_BACKEND: e.backend,
    BENCH_QUEUE: e.queue,
    BENCH_CONFIRM_PUBLISH: e.confirmPublish ? '1' : '0',
    BENCH_QUEUE_TYPE: e.queueType ?? '',
    BENCH_EXCLUSIVE_QUEUES: e.exclusiveQueues ? '1' : '0',
  };
}

/** Run a script of bench/python and parse its JSON stdout. */
export function runPythonScript<T>(script: string, env: PythonEnv, args: string[], timeoutMs = 600_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(config.python, [join(config.pythonDir, script), ...args], { env: pythonEnv(env), cwd: config.pythonDir });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err = (err + d).slice(-8000)));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${script} exited with ${code}:\n${err}`));
      try {
        resolve(JSON.parse(out) as T);
      } catch {
        reject(new Error(`${script} printed no JSON: ${out.slice(0, 500)}\n${err}`));
      }
    });
  });
}

/** `celery worker -P solo` (or `pool`) on the bench app, Celery's defaults otherwise (prefetch multiplier 4, log level WARNING). */
export class PythonWorker {
  readonly process: ChildProcess;
  readonly output: () => string;
  readonly died: Promise<never>;
  private readonly expectExit: () => void;
  private readonly exited: Promise<number | null>;

  constructor(
    readonly label: string,
    env: PythonEnv,
    pool: string[] = ['-P', 'solo'],
  ) {
    const nodename = `bench-py-${process.pid}-${Math.random().toString(36).slice(2, 8)}@%h`;
    this.process = spawn(
      config.python,
      [
        '-m',
        'celery',
        '-A',
        'bench_app',
        'worker',
        ...pool,
        '-Q',
        env.queue,
        '-n',
        nodename,
        '--without-heartbeat',
        '--without-gossip',
        '--without-mingle',
        ...config.pythonWorkerArgs,
      ],
      { env: pythonEnv(env), cwd: config.pythonDir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.output = tail(this.process);
    ({ died: this.died, expectExit: this.expectExit, exited: this.exited } = exitWatch(this.process, label, this.output));
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Warm shutdown (SIGTERM), SIGKILL after the grace period. */
  async stop(graceMs = 15_000): Promise<void> {
    this.expectExit();
    if (this.process.exitCode !== null) return;
    const kill = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    this.process.kill('SIGTERM');
    await this.exited;
    clearTimeout(kill);
  }
}
