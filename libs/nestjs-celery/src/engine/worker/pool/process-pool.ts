// The process pool (Celery's prefork): child processes that each load the worker's pool entry and
// run one task at a time, so CPU-bound handlers use every core; the parent keeps the broker,
// acks, results, events and remote control, and answers them while the children are busy.
import { fork, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { CeleryLogger } from '../../../common/logger.js';
import { SoftTimeLimitExceeded, WorkerLostError } from '../../../protocol/python-errors.js';
import { Retry } from '../../../protocol/task-predicates.js';
import type { TaskRequest } from '../../../protocol/task-message.js';
import type { DeliveryInfo } from '../../../transport/broker.interface.js';
import type { TaskAbort } from '../task-abort.js';
import type { RetryOptions, TaskContext, TaskHandler, TaskOptions } from '../task-context.js';
import { fromWireError, toWireError, type FromChild, type PoolTask, type ToChild, type WireError } from './pool-wire.js';

export type { PoolTask } from './pool-wire.js';

/** What a pool entry module default-exports: registers the tasks its child runs (maybe after bootstrapping a Nest module). */
export type PoolEntry = (worker: { register(name: string, handler: TaskHandler, options?: TaskOptions): unknown }) => unknown;

export interface ProcessPoolOptions {
  /**
   * The module each child imports (a path or file URL): its default export registers the tasks,
   * `(worker) => worker.register(name, handler, options)`, possibly after bootstrapping a Nest
   * module (`celeryPoolEntry` of nestjs-celery does that).
   */
  entry: string | URL;
  /** children at start (Celery's worker_concurrency; autoscale's min, which may be 0) */
  processes: number;
  /** a child is replaced after this many tasks (worker_max_tasks_per_child) */
  maxTasksPerChild?: number;
  /** a child whose resident memory is above this many KiB after a task is replaced (worker_max_memory_per_child) */
  maxMemoryPerChild?: number;
  logger: CeleryLogger;
}

/** A task handed to the pool, with what its child's TaskContext needs from the parent. */
export interface PoolJob {
  request: TaskRequest;
  deliveryInfo: DeliveryInfo;
  hostname: string;
  abort: TaskAbort;
  context: Pick<TaskContext, 'updateState' | 'retry'>;
}

/** The child running a task exited (crashed, killed by the OS): Celery's WorkerLostError. */
export class ChildLostError extends WorkerLostError {}

interface Running {
  id: number;
  job: PoolJob;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** the Retry the parent raised for this job's ctx.retry() (it carries the published attempt) */
  retry?: Retry;
  stopListening(): void;
}

class PoolChild {
  tasks = 0;
  running?: Running;
  constructor(readonly process: ChildProcess) {}
  get pid(): number {
    return this.process.pid ?? 0;
  }
  send(message: ToChild): void {
    if (this.process.connected) this.process.send(message);
  }
}

/** billiard's human_status: `signal 9 (SIGKILL)` or `exitcode 1`. */
function humanStatus(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${constants.signals[signal]} (${signal})` : `exitcode ${code ?? 0}`;
}

/** Set in a child's environment. */
export const POOL_CHILD_ENV = 'NESTJS_CELERY_POOL_CHILD';

const CHILD_SCRIPT = new URL('./pool-child.js', import.meta.url);
/** a child that fails to start is replaced after this long, so a broken entry cannot spin */
const RESPAWN_DELAY_MS = 1000;

export class ProcessPool {
  private readonly children = new Set<PoolChild>();
  private readonly idle: PoolChild[] = [];
  private readonly waiting: ((child: PoolChild) => void)[] = [];
  private readonly entryUrl: string;
  private target: number;
  private lastJob = 0;
  private stopping = false;

  constructor(private readonly options: ProcessPoolOptions) {
    this.target = Math.max(0, options.processes);
    const { entry } = options;
    this.entryUrl = entry instanceof URL ? entry.href : /^[a-z]+:/i.test(entry) ? entry : pathToFileURL(entry).href;
  }

  /**
   * Start every child; resolves with the tasks the entry registered, rejects (and stops the pool) when it cannot be
   * loaded. A pool of 0 (autoscale's min 0) starts one child to learn the tasks, then lets it go.
   */
  async start(): Promise<PoolTask[]> {
    const started = await Promise.allSettled(Array.from({ length: Math.max(1, this.target) }, () => this.spawn()));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await this.stop();
      throw failed.reason;
    }
    this.shrink(0);
    return (started[0] as PromiseFulfilledResult<PoolTask[]>).value;
  }

  /** processes the pool keeps */
  get limit(): number {
    return this.target;
  }

  get pids(): number[] {
    return [...this.children].map((c) => c.pid);
  }

  /** Run the task on the next free child: resolves with the handler's value, rejects with its error (or ChildLostError). */
  async apply(job: PoolJob): Promise<unknown> {
    const child = this.idle.pop() ?? (await new Promise<PoolChild>((resolve) => this.waiting.push(resolve)));
    const id = ++this.lastJob;
    return new Promise<unknown>((resolve, reject) => {
      const onAbort = () => this.aborted(child, running, job.abort.reason);
      const signal = job.abort.signal;
      const running: Running = { id, job, resolve, reject, stopListening: () => signal.removeEventListener('abort', onAbort) };
      child.running = running;
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      child.send({ t: 'run', job: id, task: { request: job.request, deliveryInfo: job.deliveryInfo, hostname: job.hostname } });
    });
  }

  /** pool_grow / autoscale: n more children (none once the pool is stopping). */
  grow(n: number): void {
    if (this.stopping) return;
    this.target += n;
    for (let i = 0; i < n; i++) this.spawn().catch(() => undefined);
  }

  /** pool_shrink / autoscale: n fewer children (down to 0); idle ones go now, busy ones when their task ends. */
  shrink(n: number): void {
    this.target = Math.max(0, this.target - n);
    while (this.children.size > this.target && this.idle.length) this.retire(this.idle.shift()!);
  }

  /** Stop every child (their tasks were waited for or aborted by the worker). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.children].map(async (child) => {
        const exited = new Promise<void>((resolve) => child.process.once('exit', () => resolve()));
        if (child.process.exitCode !== null || child.process.signalCode !== null) return;
        child.process.disconnect();
        const timer = setTimeout(() => child.process.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  /** Start one child; resolves once it has loaded the entry, with the tasks it registered. */
  private spawn(): Promise<PoolTask[]> {
    const proc = fork(CHILD_SCRIPT, [this.entryUrl], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // a Nest module's own worker (CeleryModule `worker`) does not start in a child: the parent is the worker
      env: { ...process.env, [POOL_CHILD_ENV]: '1' },
    });
    const child = new PoolChild(proc);
    this.children.add(child);
    return new Promise<PoolTask[]>((resolve, reject) => {
      let ready = false;
      proc.on('message', (message: FromChild) => {
        if (message.t === 'ready') {
          ready = true;
          this.available(child);
          resolve(message.tasks);
        } else if (message.t === 'failed') {
          reject(fromWireError(message.error));
        } else this.fromChild(child, message);
      });
      proc.on('error', (error) => this.options.logger.error(`pool child ${child.pid}: ${error.message}`));
      proc.once('exit', (code, signal) => {
        if (!ready) reject(new Error(`pool child exited while loading ${this.entryUrl}: ${humanStatus(code, signal)}`));
        this.exited(child, code, signal, ready);
      });
    });
  }

  private fromChild(child: PoolChild, message: FromChild): void {
    const running = child.running;
    if (message.t === 'call') {
      if (running?.id !== message.job) return;
      void this.call(child, running, message.call, message.method, message.args);
      return;
    }
    if (message.t !== 'done' || running?.id !== message.job) return;
    child.running = undefined;
    child.tasks++;
    running.stopListening();
    if (message.error) running.reject(message.error.predicate === 'Retry' && running.retry ? running.retry : fromWireError(message.error));
    else running.resolve(message.value);
    const { maxTasksPerChild, maxMemoryPerChild } = this.options;
    if (maxMemoryPerChild && message.rss > maxMemoryPerChild * 1024) {
      this.options.logger.warn(
        `child process ${child.pid} exceeded its memory limit (${Math.round(message.rss / 1024)} KiB > ${maxMemoryPerChild} KiB): replaced`,
      );
      this.retire(child);
    } else if (maxTasksPerChild && child.tasks >= maxTasksPerChild) this.retire(child);
    else this.available(child);
  }

  /** A TaskContext method the child asked the parent to run (it has the broker and the backend). */
  private async call(child: PoolChild, running: Running, call: number, method: 'updateState' | 'retry', args: unknown[]): Promise<void> {
    let error: WireError | undefined;
    try {
      if (method === 'updateState') await running.job.context.updateState(args[0] as string, args[1]);
      else {
        const { exc, ...options } = (args[0] ?? {}) as RetryOptions & { exc?: WireError };
        await running.job.context.retry({ ...options, exc: exc === undefined ? undefined : fromWireError(exc) });
      }
    } catch (thrown) {
      if (thrown instanceof Retry) running.retry = thrown;
      error = toWireError(thrown);
    }
    child.send({ t: 'reply', call, error });
  }

  /** The task's AbortSignal fired: a soft time limit reaches the handler; anything else (hard limit, revoke --terminate, shutdown) ends its child. */
  private aborted(child: PoolChild, running: Running, reason: unknown): void {
    if (child.running !== running) return;
    if (reason instanceof SoftTimeLimitExceeded) {
      child.send({ t: 'abort', job: running.id, reason: toWireError(reason) });
      return;
    }
    child.running = undefined;
    running.stopListening();
    running.reject(reason);
    child.process.kill('SIGKILL');
  }

  private available(child: PoolChild): void {
    if (this.children.size > this.target || this.stopping) return this.retire(child);
    const next = this.waiting.shift();
    if (next) next(child);
    else this.idle.push(child);
  }

  /** Let a child go (it exits once its channel closes); a replacement is started if the pool needs one. */
  private retire(child: PoolChild): void {
    this.children.delete(child);
    const at = this.idle.indexOf(child);
    if (at >= 0) this.idle.splice(at, 1);
    if (child.process.connected) child.process.disconnect();
    this.replenish();
  }

  private exited(child: PoolChild, code: number | null, signal: NodeJS.Signals | null, wasReady: boolean): void {
    const running = child.running;
    child.running = undefined;
    if (running) {
      running.stopListening();
      running.reject(new ChildLostError(`Worker exited prematurely: ${humanStatus(code, signal)} Job: ${running.id}.`));
    }
    if (!this.children.delete(child)) return;
    const at = this.idle.indexOf(child);
    if (at >= 0) this.idle.splice(at, 1);
    if (running && !this.stopping) this.options.logger.error(`pool child ${child.pid} exited while running a task: ${humanStatus(code, signal)}`);
    if (wasReady) this.replenish();
    else if (!this.stopping) setTimeout(() => this.replenish(), RESPAWN_DELAY_MS).unref();
  }

  private replenish(): void {
    while (!this.stopping && this.children.size < this.target) {
      this.spawn().catch((error: unknown) => {
        if (!this.stopping)
          this.options.logger.error(`pool child could not load ${this.entryUrl}: ${(error as Error)?.message ?? error}; retrying in ${RESPAWN_DELAY_MS} ms`);
      });
    }
  }
}
