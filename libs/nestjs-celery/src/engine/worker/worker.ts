import { hostname as osHostname } from 'node:os';
import { isObservable, lastValueFrom } from 'rxjs';
import type { CeleryLogger } from '../../common/logger.js';
import { consoleLogger } from '../../common/logger.js';
import { nowNaiveUtcIso } from '../../protocol/dates.js';
import { ContentDisallowedError, DecodeError, InvalidTaskError, MessageTooLargeError, ProtocolError } from '../../protocol/errors.js';
import { formatTraceback, serializeException, type ExceptionInfo } from '../../protocol/exceptions.js';
import { createResultMeta, type ResultMeta } from '../../protocol/result-meta.js';
import { AcceptContent, decodeBody } from '../../protocol/serialization.js';
import { States, type TaskState } from '../../protocol/states.js';
import { decodeTaskMessage, type TaskRequest } from '../../protocol/task-message.js';
import type { Consumer, Delivery } from '../../transport/broker.interface.js';
import type { Celery } from '../celery.js';
import type { TaskContext, TaskHandler, TaskOptions } from './task-context.js';
import { noContinuation, type TaskContinuation } from './task-continuation.js';
import { TaskRegistry, type RegisteredTask } from './task-registry.js';

export interface WorkerOptions {
  /** queues to consume, default: the app's default queue */
  queues?: string[];
  /** tasks run at once = prefetch (the broker never hands this worker more), default 16 */
  concurrency?: number;
  /** the worker's nodename, default `nestjs@<hostname>` */
  hostname?: string;
  /** accept_content, default the app's (['json']) */
  acceptContent?: string[];
  /** larger message bodies are refused (FAILURE stored when the id is readable), default 16 MiB */
  maxMessageBytes?: number;
  /** how long stop() waits for running tasks before aborting them (default 30 s) */
  shutdownTimeoutMs?: number;
  /** store STARTED before running every task (task_track_started) */
  trackStarted?: boolean;
  /**
   * How long to keep retrying to store an outcome while the result backend is unreachable
   * (backoff 100 ms doubling up to 5 s), holding the message unacked; past it the message is
   * requeued. Default 5 minutes, so results computed during a backend outage are stored once
   * it returns.
   */
  storeTimeoutMs?: number;
  /** cap on store attempts within storeTimeoutMs (default: unlimited) */
  storeAttempts?: number;
  logger?: CeleryLogger;
}

/** A Python exception as Celery stores it, for failures the worker itself raises. */
const pyException = (excType: string, excModule: string, ...args: unknown[]): ExceptionInfo => ({
  exc_type: excType,
  exc_message: args,
  exc_module: excModule,
});

/** Which Python exception a refused message is reported as (so Python clients can map it). */
function refusalException(error: Error): ExceptionInfo {
  if (error instanceof ContentDisallowedError) return pyException('ContentDisallowed', 'kombu.exceptions', error.message);
  if (error instanceof DecodeError) return pyException('DecodeError', 'kombu.exceptions', error.message);
  if (error instanceof InvalidTaskError) return pyException('InvalidTaskError', 'celery.exceptions', error.message);
  if (error instanceof MessageTooLargeError) return pyException('MessageTooLarge', 'nestjs_celery.exceptions', error.message);
  return pyException(error.name, 'nestjs_celery.exceptions', error.message);
}

/** The abort reason of tasks still running when the shutdown grace period ends. */
export class WorkerShutdownAbort extends Error {
  constructor() {
    super('worker shutdown: the task was aborted and its message goes back to the queue');
    this.name = 'WorkerShutdown';
  }
}

const isThenable = (v: unknown): v is PromiseLike<unknown> => typeof (v as PromiseLike<unknown> | null)?.then === 'function';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The worker engine: consume → decode → run → store → ack. A message is acked only after its
 * outcome is stored; bad input is logged, gets a defined fate, and never stops the loop.
 */
export class Worker {
  readonly registry = new TaskRegistry();
  readonly hostname: string;
  private readonly logger: CeleryLogger;
  private readonly accept: AcceptContent;
  private readonly concurrency: number;
  private readonly maxMessageBytes: number;
  private readonly storeAttempts: number;
  private readonly storeTimeoutMs: number;
  private consumer?: Consumer;
  private readonly active = new Set<Promise<void>>();
  private readonly scheduled = new Map<NodeJS.Timeout, { delivery: Delivery; release: () => void }>();
  private processed = 0;
  /** the AbortController of each running task, by task id (abort = shutdown, revoke --terminate, time limit) */
  readonly running = new Map<string, AbortController>();
  /** canvas continuation (chain, callbacks, errbacks, chords); set by the canvas module */
  continuation: TaskContinuation = noContinuation;

  constructor(
    readonly app: Celery,
    readonly options: WorkerOptions = {},
  ) {
    this.logger = options.logger ?? consoleLogger('Worker');
    this.hostname = options.hostname ?? `nestjs@${osHostname()}`;
    this.accept = new AcceptContent(options.acceptContent ?? app.options.acceptContent ?? ['json']);
    this.concurrency = Math.max(1, options.concurrency ?? 16);
    this.maxMessageBytes = options.maxMessageBytes ?? 16 * 1024 * 1024;
    this.storeAttempts = Math.max(1, options.storeAttempts ?? Number.POSITIVE_INFINITY);
    this.storeTimeoutMs = options.storeTimeoutMs ?? 5 * 60_000;
  }

  get queues(): string[] {
    return this.options.queues?.length ? this.options.queues : [this.app.defaultQueue];
  }

  /** Tasks completed (any outcome) since start. */
  get processedCount(): number {
    return this.processed;
  }

  get activeCount(): number {
    return this.active.size;
  }

  register(name: string, handler: TaskHandler, options: TaskOptions = {}): this {
    this.registry.register(name, handler, options);
    return this;
  }

  async start(): Promise<void> {
    await this.app.connect();
    for (const q of this.queues) await this.app.declareQueue(q);
    this.consumer = await this.app.broker.consume(this.queues, { prefetch: this.concurrency }, (d) => this.track(this.onDelivery(d)));
    this.logger.log(`${this.hostname} consuming ${this.queues.join(', ')} (concurrency ${this.concurrency}; tasks: ${this.registry.names().join(', ') || 'none'})`);
  }

  /**
   * Graceful shutdown: stop consuming, give scheduled (ETA) messages back, and wait for running
   * tasks to be stored and acked — at most `graceMs` (default `shutdownTimeoutMs`, 30 s). Tasks
   * still running then get their AbortSignal aborted and are not waited for: their messages are
   * unacked, so the broker gives them to another worker when this connection closes.
   */
  async stop(graceMs = this.options.shutdownTimeoutMs ?? 30_000): Promise<void> {
    await this.consumer?.cancel();
    this.consumer = undefined;
    for (const [timer, { delivery, release }] of this.scheduled) {
      clearTimeout(timer);
      await delivery.reject(true);
      release();
    }
    this.scheduled.clear();
    const deadline = Date.now() + graceMs;
    while (this.active.size && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.active]), new Promise((r) => (timer = setTimeout(r, deadline - Date.now())))]);
      clearTimeout(timer);
    }
    if (this.active.size) {
      this.logger.warn(`shutdown: ${this.running.size} task(s) still running after ${graceMs} ms: aborted, their messages go back to the queue`);
      for (const controller of this.running.values()) controller.abort(new WorkerShutdownAbort());
    }
  }

  private track(p: Promise<void>): void {
    this.active.add(p);
    void p.finally(() => this.active.delete(p));
  }

  private async onDelivery(delivery: Delivery): Promise<void> {
    try {
      await this.process(delivery);
    } catch (error) {
      // A bug here must not kill the loop nor lose the message silently.
      this.logger.error(`unexpected error handling a message from "${delivery.deliveryInfo.queue}", requeued: ${(error as Error)?.stack ?? error}`);
      await delivery.reject(true).catch(() => undefined);
    }
  }

  private async process(delivery: Delivery): Promise<void> {
    const { message } = delivery;
    const headerId = typeof message.headers?.id === 'string' ? (message.headers.id as string) : undefined;
    if (delivery.transportError) return this.refuse(delivery, delivery.transportError, headerId);
    if (message.body.length > this.maxMessageBytes) {
      return this.refuse(delivery, new MessageTooLargeError(`body of ${message.body.length} bytes is over the ${this.maxMessageBytes}-byte limit (maxMessageBytes)`), headerId);
    }
    let request: TaskRequest;
    try {
      request = decodeTaskMessage(message.headers ?? {}, message.properties ?? {}, decodeBody(message, this.accept));
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      return this.refuse(delivery, err, (error as ProtocolError).taskId ?? headerId);
    }
    const task = this.registry.get(request.task);
    if (!task) return this.onUnknownTask(delivery, request);
    if (request.expires && request.expires.getTime() <= Date.now()) {
      this.logger.warn(`task ${request.task}[${request.id}] expired at ${request.expires.toISOString()}: not run, stored REVOKED`);
      const revoked = pyException('TaskRevokedError', 'celery.exceptions', 'expired');
      await this.storeOutcome(request, States.REVOKED, revoked, null);
      await this.continuation.afterFailureStored(request, States.REVOKED, revoked, null);
      return delivery.ack();
    }
    const delay = request.eta ? request.eta.getTime() - Date.now() : 0;
    if (delay > 0) return this.schedule(delivery, request, task, delay);
    await this.run(delivery, request, task);
  }

  private schedule(delivery: Delivery, request: TaskRequest, task: RegisteredTask, delay: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.scheduled.delete(timer);
        this.run(delivery, request, task).then(resolve, resolve);
      }, Math.min(delay, 2 ** 31 - 1));
      this.scheduled.set(timer, { delivery, release: resolve });
    });
  }

  private async run(delivery: Delivery, request: TaskRequest, task: RegisteredTask): Promise<void> {
    const controller = new AbortController();
    this.running.set(request.id, controller);
    try {
      await this.execute(delivery, request, task, controller);
    } finally {
      if (this.running.get(request.id) === controller) this.running.delete(request.id);
    }
  }

  private async execute(delivery: Delivery, request: TaskRequest, task: RegisteredTask, controller: AbortController): Promise<void> {
    const context: TaskContext = {
      id: request.id,
      task: request.task,
      retries: request.retries,
      request,
      headers: request.headers,
      deliveryInfo: delivery.deliveryInfo,
      hostname: this.hostname,
      signal: controller.signal,
      updateState: (state, meta) => this.storeState(request, state, meta ?? null),
    };
    if (task.options.trackStarted ?? this.options.trackStarted) {
      await this.storeState(request, States.STARTED, { pid: process.pid, hostname: this.hostname });
    }
    let state: TaskState = States.SUCCESS;
    let result: unknown;
    let traceback: string | null = null;
    let children: unknown[] = [];
    try {
      let value = task.handler(request.args, request.kwargs, context);
      if (isThenable(value)) value = await value;
      else if (isObservable(value)) value = await lastValueFrom(value, { defaultValue: null });
      result = value === undefined ? null : value;
      children = await this.continuation.onSuccess(request, result);
    } catch (error) {
      state = States.FAILURE;
      result = serializeException(error);
      traceback = formatTraceback(error);
      this.logger.error(`task ${request.name}[${request.id}] raised ${(result as ExceptionInfo).exc_type}: ${(error as Error)?.message ?? error}`);
    }
    if (controller.signal.reason instanceof WorkerShutdownAbort) {
      // abandoned at shutdown: not an outcome; the message is redelivered to another worker
      return delivery.reject(true);
    }
    const ignore = request.ignoreResult || task.options.ignoreResult;
    if (!ignore || state === States.FAILURE) {
      const stored = await this.storeOutcome(request, state, result, traceback, children);
      if (!stored) {
        // Never ack an outcome we could not store: the message goes back to the queue.
        this.logger.error(`task ${request.name}[${request.id}]: result backend unreachable, message requeued`);
        return delivery.reject(true);
      }
    }
    if (state === States.SUCCESS) await this.continuation.afterSuccessStored(request, result);
    else await this.continuation.afterFailureStored(request, state, result as ExceptionInfo, traceback);
    this.processed++;
    await delivery.ack();
  }

  private async onUnknownTask(delivery: Delivery, request: TaskRequest): Promise<void> {
    // Celery's default: FAILURE NotRegistered and the message rejected without requeue.
    this.logger.error(
      `received unregistered task "${request.task}" (id ${request.id}) on queue "${delivery.deliveryInfo.queue}": stored FAILURE NotRegistered and rejected; registered tasks: ${this.registry.names().join(', ') || 'none'}`,
    );
    await this.storeOutcome(request, States.FAILURE, pyException('NotRegistered', 'celery.exceptions', request.task), null);
    await delivery.reject(false);
  }

  /** One clear log line, FAILURE stored when the id is known, message rejected (not requeued). */
  private async refuse(delivery: Delivery, reason: Error, taskId?: string): Promise<void> {
    const { queue, deliveryTag } = delivery.deliveryInfo;
    let stored = false;
    if (taskId && this.app.backend) {
      const meta = createResultMeta(taskId, States.FAILURE, refusalException(reason), { dateDone: nowNaiveUtcIso() });
      stored = await this.store(meta, { taskId, replyTo: delivery.message.properties?.replyTo, correlationId: delivery.message.properties?.correlationId });
    }
    this.logger.error(
      `rejected message ${deliveryTag ?? ''} from queue "${queue}"${taskId ? ` (task ${taskId})` : ''}: ${reason.name}: ${reason.message}; dropped${stored ? ', FAILURE stored' : ''}`,
    );
    await delivery.reject(false);
  }

  private buildMeta(request: TaskRequest, state: TaskState, result: unknown, traceback: string | null, children: unknown[] = []): ResultMeta {
    const ready = state === States.SUCCESS || state === States.FAILURE || state === States.REVOKED;
    return createResultMeta(request.id, state, result, {
      traceback,
      children,
      dateDone: ready ? nowNaiveUtcIso() : null,
      request: { groupId: request.groupId, parentId: request.parentId },
    });
  }

  private target(request: TaskRequest) {
    return { taskId: request.id, replyTo: request.replyTo, correlationId: request.correlationId };
  }

  /** Store an outcome, retrying with backoff; false when the backend could not take it. */
  private storeOutcome(request: TaskRequest, state: TaskState, result: unknown, traceback: string | null, children: unknown[] = []): Promise<boolean> {
    if (!this.app.backend) return Promise.resolve(true);
    return this.store(this.buildMeta(request, state, result, traceback, children), this.target(request));
  }

  /** An intermediate state (STARTED, update_state): one attempt, errors reach the caller. */
  private async storeState(request: TaskRequest, state: TaskState, meta: unknown): Promise<void> {
    await this.app.backend?.store(this.buildMeta(request, state, meta, null), this.target(request));
  }

  private async store(meta: ResultMeta, target: { taskId: string; replyTo?: string | null; correlationId?: string | null }): Promise<boolean> {
    const deadline = Date.now() + this.storeTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.app.backend!.store(meta, target);
        if (attempt > 1) this.logger.log(`stored ${meta.status} of task ${meta.task_id} after ${attempt} attempts`);
        return true;
      } catch (error) {
        const delay = Math.min(100 * 2 ** (attempt - 1), 5000);
        const giveUp = attempt >= this.storeAttempts || Date.now() + delay > deadline;
        // one line per doubling, not one per attempt, while the backend is down
        if (giveUp || (attempt & (attempt - 1)) === 0) {
          this.logger.warn(`storing ${meta.status} of task ${meta.task_id} failed (attempt ${attempt}): ${(error as Error)?.message ?? error}${giveUp ? '; giving up' : '; retrying'}`);
        }
        if (giveUp) return false;
        await sleep(delay);
      }
    }
  }

}
