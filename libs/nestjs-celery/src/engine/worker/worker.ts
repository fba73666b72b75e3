// The worker: consumes task messages, runs handlers under Celery's ack/retry/time-limit rules, stores
// each outcome before settling the message, and shuts down without losing what it holds.
import { hostname as osHostname } from 'node:os';
import type { CeleryLogger } from '../../common/logger.js';
import { configureLogger } from '../../common/log-settings.js';
import { nowNaiveUtcIso } from '../../protocol/dates.js';
import { JsonEncodeError } from '../../protocol/json.js';
import { ContentDisallowedError, DecodeError, InvalidTaskError, MessageTooLargeError, ProtocolError } from '../../protocol/errors.js';
import { serializeException, type ExceptionInfo } from '../../protocol/exceptions.js';
import { createResultMeta, type ResultMeta } from '../../protocol/result-meta.js';
import { AcceptContent, decodeBody, type DecodeLimits } from '../../protocol/serialization.js';
import { States, type TaskState } from '../../protocol/states.js';
import { boundedTaskId, decodeTaskMessage, type TaskMessageLimits, type TaskRequest } from '../../protocol/task-message.js';
import type { Consumer, Delivery, QueueDeclaration } from '../../transport/broker.interface.js';
import type { StoreTarget } from '../../transport/result-backend.interface.js';
import type { Celery } from '../celery.js';
import type { TaskContext, TaskHandler, TaskOptions } from './task-context.js';
import { noContinuation, type TaskContinuation } from './task-continuation.js';
import { TaskRegistry, type RegisteredTask } from './task-registry.js';
import { WorkerLostError } from '../../protocol/python-errors.js';
import { TaskAck, ackSettings, type AckDefaults, type AckSettings } from './ack-policy.js';
import { ConsumerTimeoutGuard, DEFAULT_CONSUMER_TIMEOUT_MS } from './consumer-timeout.js';
import { EtaScheduler } from './eta-scheduler.js';
import { PrefetchWindow } from './prefetch-window.js';
import { Autoscaler, autoscaleKeepalive, autoscaleRange } from './autoscale.js';
import { IdleMemoryRelease, idleMemoryReleaseSeconds } from './idle-memory-release.js';
import { RateLimits, parseRate, type RateLimitOptions } from './rate-limit.js';
import { retryTask, withAutoretry } from './retry.js';
import { failureOutcome, runOutcome, type RunOutcome } from './run-outcome.js';
import { TaskLog } from './task-log.js';
import { workerBanner } from './worker-banner.js';
import { effectiveTimeLimits, runHandler, runWithTimeLimits, settleHandlerValue, type LimitedOutcome } from './time-limits.js';
import { UnknownTaskPolicy, type UnknownTaskOptions } from './unknown-task.policy.js';
import { installCanvas } from '../canvas/install.js';
import { WorkerNode, type RevokeReason, type WorkerNodeOptions } from '../control/worker-node.js';
import { TaskAbort } from './task-abort.js';
import { ChildLostError, ProcessPool } from './pool/process-pool.js';
import type { PoolControl } from '../control/control-commands.js';
import { availableParallelism } from 'node:os';
import { backoffDelay, isLoggedAttempt } from '../retry-backoff.js';

/** How a Worker consumes and runs tasks, named after Celery's `worker_*` / `task_*` settings. */
export interface WorkerOptions extends AckDefaults, UnknownTaskOptions, WorkerNodeOptions, DecodeLimits, TaskMessageLimits, RateLimitOptions {
  /**
   * queues to consume (Celery's `-Q`): exactly these; a registered task whose own `queue` is not
   * among them is logged as a warning at start. Default: the app's default queue, then the
   * queues the registered tasks name (their `queue` option), in task name order.
   */
  queues?: string[];
  /**
   * tasks run at once = prefetch (the broker never hands this worker more), default 16; with the
   * processes pool, the number of child processes (default: the machine's cores)
   */
  concurrency?: number;
  /**
   * Celery's worker_pool. 'event-loop' (default): tasks run on this process's event loop,
   * `concurrency` of them in flight (for I/O-bound async handlers, like Celery's gevent/eventlet).
   * 'processes' (Celery's prefork): `concurrency` child processes each load `poolEntry` and run
   * one task at a time on their own core; this process keeps the broker, acks, results, events
   * and remote control. A hard time limit, revoke --terminate or a cold shutdown kills the child
   * running the task and starts another.
   */
  pool?: 'event-loop' | 'processes';
  /**
   * Celery's `--autoscale=max,min` (worker_autoscaler): the pool starts at `min` and grows at once
   * to the tasks the worker holds, up to `max`, then shrinks back toward `min` once
   * `autoscaleKeepalive` seconds have passed since it last grew. With the processes pool it starts
   * and retires child processes; with the event-loop pool it changes how many tasks run at once.
   * The prefetch window is `max` (× the multiplier, 1), so the worker never holds more. Takes the
   * place of `concurrency`; min defaults to 0 as in Celery. pool_grow / pool_shrink are refused
   * under it; the `autoscale` control command changes the range.
   */
  autoscale?: readonly [max: number, min?: number];
  /** seconds after the last scale-up before autoscale shrinks the pool (Celery's AUTOSCALE_KEEPALIVE; default that environment variable, else 30) */
  autoscaleKeepalive?: number;
  /** processes pool: the module each child loads (a path or file URL); its default export registers the tasks (see ProcessPoolOptions.entry) */
  poolEntry?: string | URL;
  /** processes pool: a child is replaced after this many tasks (worker_max_tasks_per_child) */
  maxTasksPerChild?: number;
  /** processes pool: a child whose resident memory exceeds this many KiB after a task is replaced (worker_max_memory_per_child) */
  maxMemoryPerChild?: number;
  /**
   * Seconds without a task after which this process gives back the memory a burst left resident
   * (V8's last-resort GC, once per busy period and only when resident memory grew by 32 MiB since
   * the last time); false: never. Default 10. A burst of tasks leaves V8's freed pages resident in
   * its page pool, which a plain GC keeps; without --expose-gc the GC is exposed at run time.
   * The next burst regrows V8's young generation first: about its first 20,000 tasks took twice
   * the CPU per task in a measured run (README, "Worker memory").
   */
  idleMemoryRelease?: number | false;
  /**
   * worker_eta_task_limit: at most this many held ETA/countdown tasks widen the prefetch window
   * (default: no limit); past it they take the slots of runnable tasks and the worker stops
   * fetching until some are due.
   */
  etaTaskLimit?: number;
  /**
   * worker_disable_prefetch (Redis only, as in Celery; ignored with a warning elsewhere): fetch
   * only what can run now; held ETA tasks never widen the window.
   */
  disablePrefetch?: boolean;
  /** default hard time limit of every task in seconds (Celery's task_time_limit) */
  timeLimit?: number;
  /** default soft time limit of every task in seconds (Celery's task_soft_time_limit) */
  softTimeLimit?: number;
  /** the worker's nodename, default `nestjs@<hostname>` */
  hostname?: string;
  /** accept_content, default the app's (['json']) */
  acceptContent?: string[];
  /**
   * Larger message bodies are refused: one error log line, FAILURE MessageTooLarge stored when
   * the task id is readable, message rejected (not requeued). Default 256 MiB. On Redis the
   * envelope's length is checked before it is decoded. RabbitMQ has its own limit on what it
   * accepts (max_message_size: 128 MiB by default on 3.x, 16 MiB on 4.x).
   */
  maxMessageBytes?: number;
  /** how long stop() waits for running tasks before aborting them (default 30 s) */
  shutdownTimeoutMs?: number;
  /**
   * What stop() does by default: 'warm' (wait `shutdownTimeoutMs`) or 'cold' (Celery's cold
   * shutdown, e.g. REMAP_SIGTERM=SIGQUIT): running tasks get `softShutdownTimeout`, then their
   * unacked messages go back to the queue. Default 'warm'.
   */
  shutdownMode?: 'warm' | 'cold';
  /** seconds a cold shutdown lets running tasks finish first (Celery 5.5 `worker_soft_shutdown_timeout`), default 0 */
  softShutdownTimeout?: number;
  /** run the soft shutdown even when no task is running (`worker_enable_soft_shutdown_on_idle`), default false */
  enableSoftShutdownOnIdle?: boolean;
  /** store STARTED before running every task (task_track_started) */
  trackStarted?: boolean;
  /**
   * How long to keep retrying to store an outcome while the result backend is unreachable
   * (backoff 100 ms doubling up to 5 s), holding the message unacked; past it the message is
   * requeued. Default 5 minutes, so results computed during a backend outage are stored once
   * it returns.
   */
  storeTimeoutMs?: number;
  /**
   * The broker's consumer timeout in ms (RabbitMQ's `consumer_timeout`, default 30 minutes; 0 when
   * the broker enforces none). RabbitMQ closes a channel that holds a delivery unacked for longer
   * and redelivers everything on it, so at 75% of it an ETA task still waiting is republished to
   * its queue (same message, same ETA) and its delivery acked, and a late-ack task still running
   * is acked then (as with early ack). Set it to the broker's value; raise both for long tasks
   * that must keep late ack. AMQP only (Redis: the visibility timeout is kept fresh instead).
   */
  consumerTimeoutMs?: number;
  /** cap on store attempts within storeTimeoutMs (default: unlimited) */
  storeAttempts?: number;
  /**
   * Tries (backoff 100 ms doubling) of each canvas continuation: publishing the next chain step,
   * link callbacks or a chord body, and updating a chord counter. When they all fail, the
   * continuation is stored FAILURE with the cause (next step / chord body), never the task
   * that succeeded. Default 5.
   */
  continuationAttempts?: number;
  /**
   * Celery's canvas on this worker (default true): chains, link callbacks and errbacks, chords,
   * and the builtin tasks celery.map, celery.starmap, celery.chunks and celery.chord_unlock.
   */
  canvas?: boolean;
  logger?: CeleryLogger;
  /** every line the worker logs is cut at this many characters (default 8192): message-controlled text cannot flood the log */
  maxLogLineLength?: number;
}

/** add_consumer (a remote-control message) makes a worker consume at most this many queues. */
export const MAX_CONSUMED_QUEUES = 100;

/** The default maxMessageBytes: 256 MiB, room for 100 MiB messages and more. */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

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

/** The handler the parent holds for a task its pool's children run: never called. */
const runsInPool: TaskHandler = () => {
  throw new Error('this task runs in the process pool');
};

/** A first store attempt that succeeded. */
const storedNow = (): boolean => true;

/** The abort reason of tasks still running when the shutdown grace period ends. */
export class WorkerShutdownAbort extends Error {
  constructor() {
    super('worker shutdown: the task was aborted and its message goes back to the queue');
    this.name = 'WorkerShutdown';
  }
}

/** `stop()` options: the shutdown kind, and the grace period overriding the configured one. */
export interface StopOptions {
  mode?: 'warm' | 'cold';
  graceMs?: number;
}

/** The TaskContext a handler gets: fields up front, the helpers on the prototype (no closures per task). */
class WorkerTaskContext implements TaskContext {
  readonly id: string;
  readonly task: string;
  readonly retries: number;
  readonly headers: Record<string, unknown>;
  readonly stamps: TaskRequest['stamps'];
  readonly stampedHeaders: string[];
  readonly deliveryInfo: Delivery['deliveryInfo'];
  readonly hostname: string;
  // truly private: a logged or spread context shows the task, not the worker behind it
  readonly #worker: Worker;
  readonly #delivery: Delivery;
  readonly #registered: RegisteredTask;
  readonly #controller: TaskAbort;

  constructor(
    worker: Worker,
    readonly request: TaskRequest,
    delivery: Delivery,
    registered: RegisteredTask,
    controller: TaskAbort,
  ) {
    this.id = request.id;
    this.task = request.task;
    this.retries = request.retries;
    this.headers = request.headers;
    this.stamps = request.stamps;
    this.stampedHeaders = request.stampedHeaders;
    this.deliveryInfo = delivery.deliveryInfo;
    this.hostname = worker.hostname;
    this.#worker = worker;
    this.#delivery = delivery;
    this.#registered = registered;
    this.#controller = controller;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  updateState(state: string, meta?: unknown): Promise<void> {
    return this.#worker.storeState(this.request, state, meta ?? null);
  }

  retry(options?: Parameters<TaskContext['retry']>[0]): Promise<never> {
    const delivery = this.#delivery;
    return retryTask(
      {
        app: this.#worker.app,
        request: this.request,
        deliveryInfo: delivery.deliveryInfo,
        priority: delivery.message.properties?.priority,
        task: this.#registered.options,
      },
      options,
    );
  }
}

/**
 * The worker engine: consume → decode → run → store → ack. A message is acked only after its
 * outcome is stored; bad input is logged, gets a defined fate, and never stops the loop.
 */
export class Worker {
  readonly registry = new TaskRegistry();
  readonly hostname: string;
  private readonly logger: CeleryLogger;
  /** the line per task received and per outcome (Celery's wording) */
  private readonly taskLog: TaskLog;
  private readonly accept: AcceptContent;
  private concurrency: number;
  /** the processes pool; undefined: tasks run on the event loop */
  private readonly pool?: ProcessPool;
  private readonly maxMessageBytes: number;
  private readonly storeAttempts: number;
  private readonly storeTimeoutMs: number;
  private consumer?: Consumer;
  /** the queues consumed now: the configured ones, then as add_consumer / cancel_consumer change them */
  private consuming: string[] = [];
  /** consumer changes (add_consumer, cancel_consumer, stop) one after another */
  private consumerChange: Promise<void> = Promise.resolve();
  /** between start() and stop(): add_consumer / cancel_consumer act only then */
  private started = false;
  private stopping = false;
  /** deliveries being handled (received, waiting for a slot, running or storing) */
  private inFlight = 0;
  /** stop() waiting for inFlight to reach 0 */
  private idleWaiters: (() => void)[] = [];
  /** gives memory back once the worker has been idle for a while after a burst (option idleMemoryRelease) */
  private readonly memoryRelease?: IdleMemoryRelease;
  /** each task's ack settings, worked out once (task options and worker defaults don't change) */
  private readonly ackSettingsOf = new WeakMap<RegisteredTask, AckSettings>();
  private readonly window: PrefetchWindow;
  /** autoscale's pool sizing; undefined: the pool keeps its size unless pool_grow / pool_shrink change it */
  private readonly autoscaler?: Autoscaler;
  private readonly eta: EtaScheduler;
  /** per task type rate limits (engine/worker/rate-limit.ts) */
  readonly rateLimits: RateLimits;
  /** AMQP: settles deliveries held for most of the broker's consumer_timeout */
  private readonly consumerTimeout?: ConsumerTimeoutGuard;
  private readonly unknownTasks: UnknownTaskPolicy;
  private processed = 0;
  /** the (lazy) AbortController of each running task, by task id (abort = shutdown, revoke --terminate, time limit) */
  readonly running = new Map<string, TaskAbort>();
  /** a cold shutdown is under way: aborted tasks' unacked messages go back to the queue */
  private cold = false;
  /** canvas continuation (chain, callbacks, errbacks, chords); set by the canvas module */
  continuation: TaskContinuation = noContinuation;
  /** events, heartbeat, remote control and the state they report (engine/control/worker-node.ts) */
  readonly node: WorkerNode;

  constructor(
    readonly app: Celery,
    readonly options: WorkerOptions = {},
  ) {
    // this app's sends of a registered task (retries, canvas steps) take the task's queue and serializer
    app.addTaskDefaults((name) => this.registry.get(name)?.options);
    this.logger = configureLogger(options.logger, 'Worker', { ...app.options, maxLogLineLength: options.maxLogLineLength ?? app.options.maxLogLineLength });
    this.taskLog = new TaskLog(this.logger, app.options.logLevel);
    if (options.canvas !== false) this.continuation = installCanvas(this, this.logger);
    this.hostname = options.hostname ?? `nestjs@${osHostname()}`;
    this.accept = new AcceptContent(options.acceptContent ?? app.options.acceptContent ?? ['json']);
    const autoscale = autoscaleRange(options.autoscale);
    if (options.pool === 'processes') {
      if (!options.poolEntry) throw new TypeError("pool 'processes' needs poolEntry: the module each child process loads to register the tasks");
      // as Celery's prefork, an autoscaled pool starts with min processes
      this.concurrency = autoscale ? autoscale.min : Math.max(1, options.concurrency ?? availableParallelism());
      this.pool = new ProcessPool({
        entry: options.poolEntry,
        processes: this.concurrency,
        maxTasksPerChild: options.maxTasksPerChild,
        maxMemoryPerChild: options.maxMemoryPerChild,
        logger: this.logger,
      });
    } else if (options.pool && options.pool !== 'event-loop') {
      throw new TypeError(`unknown pool ${JSON.stringify(options.pool)}: 'event-loop' or 'processes'`);
    } else this.concurrency = autoscale ? autoscale.min : Math.max(1, options.concurrency ?? 16);
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.storeAttempts = Math.max(1, options.storeAttempts ?? Number.POSITIVE_INFINITY);
    this.storeTimeoutMs = options.storeTimeoutMs ?? 5 * 60_000;
    this.window = new PrefetchWindow(this.concurrency, this.etaTaskLimit(options), autoscale?.max);
    if (autoscale) {
      const pool = { size: () => this.concurrency, demand: () => this.window.demand, resize: (size: number, max: number) => this.resizePool(size, max) };
      this.autoscaler = new Autoscaler(pool, { ...autoscale, keepalive: autoscaleKeepalive(options.autoscaleKeepalive), logger: this.logger });
    }
    const idleSeconds = idleMemoryReleaseSeconds(options.idleMemoryRelease);
    if (idleSeconds) this.memoryRelease = new IdleMemoryRelease({ idleSeconds, holding: () => this.inFlight > 0, logger: this.logger });
    const consumerTimeoutMs = options.consumerTimeoutMs ?? DEFAULT_CONSUMER_TIMEOUT_MS;
    if (app.broker.capabilities.consumerTimeout && consumerTimeoutMs > 0) this.consumerTimeout = new ConsumerTimeoutGuard(consumerTimeoutMs);
    this.eta = new EtaScheduler(
      this.window,
      this.consumerTimeout && {
        guard: this.consumerTimeout,
        republish: (delivery) => app.publishDirect('ETA task republish', delivery.message, { exchange: '', routingKey: delivery.deliveryInfo.queue }),
        failed: (delivery, error) =>
          this.logger.warn(
            `ETA task ${String(delivery.message.headers?.id)} could not be republished before the broker's consumer timeout ` +
              `(${(error as Error)?.message ?? error}): requeued instead`,
          ),
      },
    );
    // at most `concurrency` tasks waiting for their rate limit's turn are set aside from the window
    this.rateLimits = new RateLimits(options, (delivery, at, run, aside) => this.eta.hold(delivery, at, run, aside), autoscale?.max ?? this.concurrency);
    this.node = new WorkerNode(
      this,
      {
        concurrency: this.concurrency,
        pool: this.poolControl(),
        logger: this.logger,
        announceRevoked: (delivery, request, reason, signum) => this.announceRevoked(delivery, request, reason, signum),
        shutdown: () => void this.stop({ mode: 'warm' }).catch((error: unknown) => this.logger.error(`shutdown failed: ${(error as Error)?.message ?? error}`)),
      },
      options,
    );
    this.unknownTasks = new UnknownTaskPolicy(
      app,
      this.window,
      this.logger,
      options,
      (request) => {
        this.node.unknownTask(request);
        return this.storeOutcome(request, States.FAILURE, pyException('NotRegistered', 'celery.exceptions', request.task), null);
      },
      () => `registered tasks: ${this.registry.names().join(', ') || 'none'}`,
    );
  }

  /** The queues configured to consume: `queues`, else the default queue and the queues the registered tasks name. */
  get queues(): string[] {
    if (this.options.queues?.length) return this.options.queues;
    return [...new Set([this.app.defaultQueue, ...this.taskQueues().map(([, queue]) => queue)])];
  }

  /** [task, queue] for each registered task that names its own queue. */
  private taskQueues(): [string, string][] {
    return this.registry.names().flatMap((name) => {
      const queue = this.registry.get(name)?.options.queue;
      return queue === undefined ? [] : [[name, queue] as [string, string]];
    });
  }

  /** The queues consumed now (add_consumer and cancel_consumer change them while running). */
  get consumedQueues(): readonly string[] {
    return this.consuming;
  }

  /** The prefetch window the broker applies now (`inspect stats` prefetch_count). */
  get prefetchCount(): number {
    return this.window.size;
  }

  /**
   * Celery's `add_consumer` (Consumer.add_task_queue): declare the queue and consume it too. The
   * consumer is started again on the new set of queues; deliveries of the previous one stay valid
   * until settled.
   */
  addConsumer(queue: QueueDeclaration): Promise<void> {
    return this.changeConsumer(async () => {
      if (this.consuming.includes(queue.name)) {
        this.logger.log(`already consuming from '${queue.name}'`);
        return undefined;
      }
      if (this.consuming.length >= MAX_CONSUMED_QUEUES) {
        throw new RangeError(`not consuming from '${queue.name}': the worker consumes ${MAX_CONSUMED_QUEUES} queues already, the most add_consumer adds up to`);
      }
      const own = this.app.queueDeclaration(queue.name);
      const custom = { ...own, ...queue };
      // a queue as the app declares it is declared once per app; one given other bindings as asked
      if (JSON.stringify(custom) === JSON.stringify(own)) await this.app.declareQueue(queue.name);
      else await this.app.broker.declareQueue(custom);
      this.logger.log(`Started consuming from ${queue.name}`);
      return [...this.consuming, queue.name];
    });
  }

  /** Celery's `cancel_consumer` (Consumer.cancel_task_queue): stop consuming the queue. */
  cancelConsumer(queue: string): Promise<void> {
    return this.changeConsumer(async () => {
      if (!this.consuming.includes(queue)) return undefined;
      this.logger.log(`Cancelling queue ${queue}`);
      return this.consuming.filter((q) => q !== queue);
    });
  }

  /** Work out the next set of queues (undefined: no change) and consume exactly those. */
  private changeConsumer(next: () => Promise<string[] | undefined>): Promise<void> {
    const change = async () => {
      if (this.stopping || !this.started) return;
      const queues = await next();
      if (!queues || this.stopping) return;
      const previous = this.consumer;
      this.consumer = undefined;
      this.window.attach(undefined);
      await previous?.cancel();
      this.consuming = queues;
      if (queues.length) {
        this.consumer = await this.consume(queues);
        this.window.attach(this.consumer);
      }
    };
    const done = this.consumerChange.then(change);
    this.consumerChange = done.catch(() => undefined);
    return done;
  }

  private consume(queues: string[]): Promise<Consumer> {
    return this.app.broker.consume(
      queues,
      { prefetch: this.window.size, adjustablePrefetch: true, maxMessageBytes: this.maxMessageBytes },
      (d) => void this.onDelivery(d),
    );
  }

  /** Tasks completed (any outcome) since start. */
  get processedCount(): number {
    return this.processed;
  }

  get activeCount(): number {
    return this.inFlight;
  }

  /** Register a task by name (Celery's `@app.task(name=...)`); the handler gets args, kwargs and the TaskContext. */
  register(name: string, handler: TaskHandler, options: TaskOptions = {}): this {
    parseRate(options.rateLimit);
    this.registry.register(name, handler, options);
    return this;
  }

  private etaTaskLimit(options: WorkerOptions): number | undefined {
    if (options.disablePrefetch) {
      if (this.app.broker.capabilities.disablePrefetch) return 0;
      this.logger.warn(`disablePrefetch (worker_disable_prefetch) is not supported by the ${this.app.broker.kind} broker (Celery: Redis only); ignored`);
    }
    const limit = options.etaTaskLimit;
    if (limit === undefined) return undefined;
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`etaTaskLimit must be a whole number ≥ 0, got ${limit}`);
    return limit;
  }

  /** The pool's size (children, or tasks at once on the event loop) and the prefetch window's base: pool_grow, pool_shrink and autoscale. */
  private resizePool(size: number, prefetch = size): void {
    if (size < this.concurrency) this.pool?.shrink(this.concurrency - size);
    else if (size > this.concurrency) this.pool?.grow(size - this.concurrency);
    this.concurrency = size;
    this.window.resize(size, prefetch);
  }

  /** What remote control reads and changes of the pool (stats, pool_grow, pool_shrink, autoscale). */
  private poolControl(): PoolControl {
    // a control message cannot make the pool unbounded: at most 4 × the configured size (autoscale: its max)
    const configured = this.concurrency;
    const bound = 4 * (this.autoscaler?.max ?? configured);
    const resize = (by: number) => {
      const size = Math.max(1, this.concurrency + by);
      if (size > bound) throw new RangeError(`the pool cannot grow past ${bound} (4 × its configured ${configured})`);
      this.resizePool(size);
    };
    const autoscaler = this.autoscaler;
    return {
      info: () => ({
        ...(this.pool && { implementation: 'nestjs_celery:ProcessPool' }),
        // prefork reports its configured limit here, whatever pool_grow / pool_shrink did since
        'max-concurrency': configured,
        processes: this.pool ? this.pool.pids : [process.pid],
        'max-tasks-per-child': (this.pool && this.options.maxTasksPerChild) || 'N/A',
        'put-guarded-by-semaphore': false,
        timeouts: [this.options.softTimeLimit ?? 0, this.options.timeLimit ?? 0],
      }),
      prefetchCount: () => this.concurrency,
      grow: (n) => resize(Math.max(0, n)),
      shrink: (n) => resize(-Math.max(0, n)),
      autoscaler: autoscaler && {
        info: () => autoscaler.info(),
        update: (max, min) => {
          const [newMax, newMin] = [max ?? autoscaler.max, min ?? autoscaler.min];
          if (newMax < 1 || newMin < 0 || newMin > newMax) throw new RangeError(`autoscale needs max ≥ 1 and 0 ≤ min ≤ max, got max=${newMax} min=${newMin}`);
          if (newMax > bound) throw new RangeError(`autoscale max cannot be past ${bound} (4 × the configured max ${bound / 4})`);
          return autoscaler.update(max, min);
        },
      },
    };
  }

  /** Connect, declare the queues and start consuming (Celery's `worker.start()`); resolves once consuming. */
  async start(): Promise<void> {
    if (this.pool) {
      // the children's tasks are the worker's: routed, acked, limited and stored here (the Nest server may have registered them already)
      for (const { name, options } of await this.pool.start()) if (!this.registry.get(name)) this.register(name, runsInPool, options);
    }
    if (this.options.queues?.length) {
      for (const [task, queue] of this.taskQueues()) {
        if (!this.options.queues.includes(queue))
          this.logger.warn(`task ${task} names queue '${queue}', which this worker does not consume (queues: ${this.options.queues.join(', ')})`);
      }
    }
    await this.app.connect('consumer');
    for (const q of this.queues) await this.app.declareQueue(q);
    await this.setUpDelayedDelivery();
    this.stopping = false;
    this.consuming = [...this.queues];
    this.consumer = await this.consume(this.consuming);
    this.window.attach(this.consumer);
    this.started = true;
    this.autoscaler?.start();
    await this.node.start();
    // startup banner: once, when the worker consumes
    this.logger.log(
      workerBanner({
        hostname: this.hostname,
        brokerUrl: this.app.brokerUrl,
        backendUrl: this.app.backendUrl,
        concurrency: this.autoscaler ? `{min=${this.autoscaler.min}, max=${this.autoscaler.max}}` : this.concurrency,
        taskEvents: !!this.options.sendTaskEvents,
        queues: this.queues.map((q) => this.app.queueDeclaration(q)),
        tasks: this.registry.names(),
      }),
    );
  }

  /**
   * Celery 5.5's DelayedDelivery bootstep: with quorum queues among the app's, declare the
   * celery_delayed_* topology and bind the consumed queues to it, so countdowns sent through it
   * (by Python or by us) reach this worker. A failure is logged, not fatal, as in Celery.
   */
  private async setUpDelayedDelivery(): Promise<void> {
    if (!this.app.broker.delayedDelivery || !this.app.queues.usesQuorumQueues) return;
    for (const queue of this.queues) {
      try {
        await this.app.setUpDelayedDelivery(queue);
      } catch (error) {
        this.logger.warn(`native delayed delivery for queue '${queue}' is not set up: ${(error as Error)?.message ?? error}`);
      }
    }
  }

  /**
   * Graceful shutdown: stop consuming, give scheduled (ETA) messages back, and wait for running
   * tasks to be stored and acked — at most `graceMs` (default `shutdownTimeoutMs`, 30 s). Tasks
   * still running then get their AbortSignal aborted and are not waited for: their messages are
   * unacked, so the broker gives them to another worker when this connection closes.
   */
  async stop(options: number | StopOptions = {}): Promise<void> {
    const { mode = this.options.shutdownMode ?? 'warm', graceMs: given } = typeof options === 'number' ? { graceMs: options } : options;
    this.cold = mode === 'cold';
    let graceMs = given ?? this.options.shutdownTimeoutMs ?? 30_000;
    if (this.cold && given === undefined) {
      // Celery 5.5's soft shutdown: a time-limited warm shutdown before the cold one, skipped when idle
      const soft = this.options.softShutdownTimeout ?? 0;
      graceMs = soft > 0 && (this.inFlight || this.options.enableSoftShutdownOnIdle) ? soft * 1000 : 0;
      if (graceMs) this.logger.warn(`Initiating Soft Shutdown, terminating in ${soft} seconds`);
    }
    this.stopping = true;
    this.autoscaler?.stop();
    this.memoryRelease?.stop();
    // an add_consumer / cancel_consumer under way finishes first
    await this.consumerChange;
    this.started = false;
    await this.consumer?.cancel();
    this.consumer = undefined;
    this.window.attach(undefined);
    await this.eta.releaseAll();
    await this.unknownTasks.releaseAll();
    const deadline = Date.now() + graceMs;
    while (this.inFlight && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), new Promise((r) => (timer = setTimeout(r, deadline - Date.now())))]);
      clearTimeout(timer);
    }
    if (this.inFlight) {
      this.logger.warn(`shutdown: ${this.running.size} task(s) still running after ${graceMs} ms: aborted, their messages go back to the queue`);
      for (const controller of this.running.values()) controller.abort(new WorkerShutdownAbort());
    }
    this.consumerTimeout?.close();
    await this.pool?.stop();
    await this.node.stop();
  }

  private async onDelivery(delivery: Delivery): Promise<void> {
    this.inFlight++;
    try {
      const handled = this.process(delivery);
      if (handled) await handled;
    } catch (error) {
      // A bug here must not kill the loop nor lose the message silently.
      this.logger.error(`unexpected error handling a message from "${delivery.deliveryInfo.queue}", requeued: ${(error as Error)?.stack ?? String(error)}`);
      await delivery.reject(true).catch(() => undefined);
    } finally {
      if (--this.inFlight === 0) {
        if (!this.stopping) this.memoryRelease?.idle();
        if (this.idleWaiters.length) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const wake of waiters) wake();
        }
      }
    }
  }

  /**
   * Decode and route one delivery. Synchronous up to the point where something must be
   * awaited (a slot, the handler, the store), so a plain task costs as few promises as possible.
   */
  private process(delivery: Delivery): Promise<void> | undefined {
    const { message } = delivery;
    const headerId = boundedTaskId(message.headers?.id, this.options);
    if (delivery.transportError) return this.refuse(delivery, delivery.transportError, headerId);
    if (message.body.length > this.maxMessageBytes) {
      return this.refuse(
        delivery,
        new MessageTooLargeError(`body of ${message.body.length} bytes is over the ${this.maxMessageBytes}-byte limit (maxMessageBytes)`),
        headerId,
      );
    }
    let request: TaskRequest;
    try {
      request = decodeTaskMessage(message.headers ?? {}, message.properties ?? {}, decodeBody(message, this.accept, this.options), this.options);
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      return this.refuse(delivery, err, boundedTaskId((error as ProtocolError).taskId, this.options) ?? headerId);
    }
    const task = this.registry.get(request.task);
    if (!task) return this.unknownTasks.handle(delivery, request);
    // Celery checks expiry and revokes on receipt and again right before running
    const revoked = this.revokeIfRevoked(delivery, request);
    if (revoked) return revoked;
    this.node.received(request, delivery);
    this.taskLog.received(request);
    if (request.eta && request.eta.getTime() > Date.now()) return this.eta.hold(delivery, request.eta, () => this.admit(delivery, request, task));
    return this.admit(delivery, request, task);
  }

  /** Run now, or hold until the task type's rate limit gives it a turn (also after an ETA, as Celery's _limit_post_eta). */
  private admit(delivery: Delivery, request: TaskRequest, task: RegisteredTask): Promise<void> {
    return this.rateLimits.admit(task.name, task.options.rateLimit, delivery, () => this.run(delivery, request, task));
  }

  /** Celery's Request.revoked(): an expired or revoked task is not run (REVOKED stored, message acked); undefined when it may run. */
  private revokeIfRevoked(delivery: Delivery, request: TaskRequest): Promise<void> | undefined {
    const reason = this.node.revokedReason(request);
    return reason ? this.announceRevoked(delivery, request, reason, null) : undefined;
  }

  /** Celery's Request._announce_revoked: REVOKED TaskRevokedError(reason) stored, task-revoked sent, message acked. */
  private async announceRevoked(delivery: Delivery, request: TaskRequest, reason: RevokeReason, signum: number | null): Promise<void> {
    this.taskLog.revoked(request, reason);
    const revoked = pyException('TaskRevokedError', 'celery.exceptions', reason);
    await this.storeOutcome(request, States.REVOKED, revoked, null);
    await this.continuation.afterFailureStored(request, States.REVOKED, revoked, null);
    this.node.revokedAnnounced(request, delivery, reason, signum);
    await delivery.ack();
  }

  private async run(delivery: Delivery, request: TaskRequest, task: RegisteredTask): Promise<void> {
    const releaseSlot = this.window.tryAcquire() ?? (await this.waitForSlot());
    try {
      // its channel closed while it waited: RabbitMQ delivers it again, that copy runs
      if (delivery.lost?.aborted) return;
      const revoked = this.revokeIfRevoked(delivery, request);
      if (revoked) return await revoked;
      const controller = new TaskAbort();
      this.running.set(request.id, controller);
      this.node.started(request, delivery);
      try {
        await this.node.run(request, delivery, () => this.execute(delivery, request, task, controller));
      } finally {
        if (this.running.get(request.id) === controller) this.running.delete(request.id);
        this.node.ready(request);
      }
    } finally {
      releaseSlot();
    }
  }

  /** Wait for a free slot; with autoscale, a task waiting for one makes the pool grow now (Celery scales on each task message). */
  private waitForSlot(): Promise<() => void> {
    const slot = this.window.acquire();
    this.autoscaler?.maybeScale();
    return slot;
  }

  private async execute(delivery: Delivery, request: TaskRequest, task: RegisteredTask, controller: TaskAbort): Promise<void> {
    let settings = this.ackSettingsOf.get(task);
    if (!settings) this.ackSettingsOf.set(task, (settings = ackSettings(task.options, this.options)));
    const ack = new TaskAck(delivery, settings, this.window);
    const ackedEarly = ack.accepted();
    if (ackedEarly) await ackedEarly;
    else if (this.consumerTimeout) {
      const untrack = this.consumerTimeout.track(ack, () => {
        this.logger.warn(
          `task ${request.name}[${request.id}] has run for ${this.consumerTimeout!.actAfterMs} ms, near the broker's consumer timeout ` +
            `(consumerTimeoutMs ${this.consumerTimeout!.timeoutMs}): its message is acked now, as with early ack, so the channel and ` +
            'the other tasks on it are not redelivered; raise consumer_timeout (and consumerTimeoutMs) to keep late ack for such tasks',
        );
        void ack.ackNow();
      });
      try {
        return await this.runAndStore(delivery, request, task, controller, ack);
      } finally {
        untrack();
      }
    }
    return this.runAndStore(delivery, request, task, controller, ack);
  }

  /** Run the handler, store the outcome, fire continuations, settle the message. */
  private async runAndStore(delivery: Delivery, request: TaskRequest, task: RegisteredTask, controller: TaskAbort, ack: TaskAck): Promise<void> {
    const context = new WorkerTaskContext(this, request, delivery, task, controller);
    const startedAt = performance.now();
    if (task.options.trackStarted ?? this.options.trackStarted) {
      await this.storeState(request, States.STARTED, { pid: process.pid, hostname: this.hostname });
    }
    const limits = effectiveTimeLimits(request.timeLimit, task.options, this.options);
    let limited: LimitedOutcome;
    if (this.pool) {
      // the child runs the handler (and its autoretry); the limits' timers stay here, where a busy child cannot stall them
      const pool = this.pool;
      const job = { request, deliveryInfo: delivery.deliveryInfo, hostname: this.hostname, abort: controller, context };
      limited = await runWithTimeLimits(() => pool.apply(job), limits, controller);
    } else if (limits.hard || limits.soft || task.options.autoretryFor?.length) {
      const invoke = withAutoretry(async () => settleHandlerValue(task.handler(request.args, request.kwargs, context)), task.options, context);
      limited = await runWithTimeLimits(invoke, limits, controller);
    } else {
      // no timers to arm, nothing to retry automatically: a handler returning a plain value costs no promise
      const ran = runHandler(task.handler, request.args, request.kwargs, context);
      limited = 'then' in ran ? await ran : ran;
    }
    let outcome = runOutcome(limited);
    if (limited.kind === 'timeout' && !this.pool) {
      void limited.late.then(() => this.logger.warn(`task ${request.name}[${request.id}] finished after its hard time limit: its result is discarded`));
    }
    // revoke --terminate stored REVOKED and acked already: whatever the handler did is discarded
    const terminated = this.node.terminated(request);
    if (terminated) return terminated.then(() => ack.ended('failure'));
    if (controller.reason instanceof WorkerShutdownAbort) return this.workerLost(ack, request);
    if (limited.kind === 'raised' && limited.error instanceof ChildLostError) return this.workerLost(ack, request, limited.error);
    let children: unknown[] = [];
    if (outcome.kind === 'state' && outcome.state === States.SUCCESS) {
      try {
        const applied = this.continuation.onSuccess(request, outcome.result);
        children = Array.isArray(applied) ? applied : await applied;
      } catch (error) {
        outcome = failureOutcome(error);
      }
    }
    if (outcome.kind === 'reject') {
      this.logger.warn(`task ${request.name}[${request.id}] rejected its message (${outcome.requeue ? 'requeued' : 'not requeued'}): ${outcome.error.message}`);
      this.node.rejected(request, outcome.requeue);
      return ack.reject(outcome.requeue);
    }
    if (outcome.kind === 'ignore') return ack.ended('ignored');
    let { state, result, traceback, end } = outcome;
    // Celery: the next attempt's result joins the task's own children (send_task's add_to_parent)
    if (state === States.RETRY) children = [[[request.id, null], null]];
    // task outcome log line: the only one per run (a failure's traceback included)
    const runtime = (performance.now() - startedAt) / 1000;
    this.taskLog.outcome(request, outcome, runtime, limits.hard ?? undefined);
    // Celery: the message's ignore_result skips SUCCESS (backends' mark_as_done); the task's
    // ignore_result skips errors too unless store_errors_even_if_ignored (app/trace.py)
    const store =
      state === States.SUCCESS ? !(request.ignoreResult || task.options.ignoreResult) : !task.options.ignoreResult || !!task.options.storeErrorsEvenIfIgnored;
    if (store) {
      let stored: boolean;
      try {
        stored = await this.storeOutcome(request, state, result, traceback, children);
      } catch (error) {
        if (!(error instanceof JsonEncodeError)) throw error;
        // the outcome cannot be written at all: no outage, nothing to retry (Celery stores EncodeError)
        const failed = failureOutcome(error) as RunOutcome & { kind: 'state' };
        ({ state, result, traceback, end } = failed);
        this.taskLog.outcome(request, failed, runtime);
        stored = await this.storeOutcome(request, state, result, traceback, children);
      }
      // RETRY is informative: the next attempt is already published, so the message is acked regardless
      if (!stored && state !== States.RETRY) {
        if (ack.ackedEarly) {
          this.logger.error(`task ${request.name}[${request.id}]: result backend unreachable, ${state} not stored (message acked early)`);
        } else {
          // Never ack an outcome we could not store: the message goes back to the queue.
          this.logger.error(`task ${request.name}[${request.id}]: result backend unreachable, message requeued`);
          return ack.reject(true);
        }
      }
    }
    if (state === States.SUCCESS) {
      const chordPart = this.continuation.afterSuccessStored(request, result);
      if (chordPart) await chordPart;
    } else if (state !== States.RETRY) await this.continuation.afterFailureStored(request, state, result as ExceptionInfo, traceback);
    this.node.finished(request, state, result, traceback);
    this.processed++;
    await ack.ended(end);
  }

  /**
   * A task abandoned at shutdown (its worker is going away) or whose pool child died: requeued for another worker, or —
   * rejectOnWorkerLost false, or acked early — FAILURE WorkerLostError, as Celery does for a lost
   * pool process (celery/worker/request.py on_failure).
   */
  private async workerLost(
    ack: TaskAck,
    request: TaskRequest,
    error = new WorkerLostError('Worker exited prematurely: aborted at shutdown after the grace period.'),
  ): Promise<void> {
    // a cold shutdown gives every unacked message back, as Celery's ("Restoring N unacknowledged message(s)")
    if (ack.settings.acksLate && (ack.settings.rejectOnWorkerLost || this.cold) && !ack.ackedEarly) return ack.reject(true);
    const lost = serializeException(error);
    this.logger.error(`task ${request.name}[${request.id}]: worker lost (${error.message}), stored FAILURE WorkerLostError`);
    await this.storeOutcome(request, States.FAILURE, lost, null);
    await this.continuation.afterFailureStored(request, States.FAILURE, lost, null);
    await ack.ended('failure');
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
  async storeState(request: TaskRequest, state: TaskState, meta: unknown): Promise<void> {
    await this.app.backend?.store(this.buildMeta(request, state, meta, null), this.target(request));
  }

  /**
   * Store with backoff while the backend is unreachable; false when it stays so. A meta that
   * cannot be serialized (JsonEncodeError) is thrown at once: retrying cannot help.
   */
  private store(meta: ResultMeta, target: StoreTarget): Promise<boolean> {
    const deadline = Date.now() + this.storeTimeoutMs;
    // the first attempt is not an async frame: the common success costs one promise, the backend's result mapped to true
    let first: Promise<void>;
    try {
      first = this.app.backend!.store(meta, target);
    } catch (error) {
      first = Promise.reject(error);
    }
    return first.then(storedNow, (error: unknown) => this.storeAgain(meta, target, deadline, error));
  }

  /** The store's attempts after the first one failed with `error`: backoff until `deadline` or storeAttempts. */
  private async storeAgain(meta: ResultMeta, target: StoreTarget, deadline: number, error: unknown): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      if (error instanceof JsonEncodeError) throw error;
      const delay = backoffDelay(attempt);
      const giveUp = attempt >= this.storeAttempts || Date.now() + delay > deadline;
      // one line per doubling, not one per attempt, while the backend is down
      if (giveUp || isLoggedAttempt(attempt)) {
        this.logger.warn(
          `storing ${meta.status} of task ${meta.task_id} failed (attempt ${attempt}): ${(error as Error)?.message ?? error}${giveUp ? '; giving up' : '; retrying'}`,
        );
      }
      if (giveUp) return false;
      await new Promise((r) => setTimeout(r, delay));
      try {
        await this.app.backend!.store(meta, target);
        this.logger.log(`stored ${meta.status} of task ${meta.task_id} after ${attempt + 1} attempts`);
        return true;
      } catch (failure) {
        error = failure;
      }
    }
  }
}
