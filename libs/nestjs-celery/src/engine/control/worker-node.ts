/**
 * The worker as a node of a Celery cluster: what Celery's consumer bootsteps Events, Heart,
 * Control (pidbox) and Mingle do (celery/worker/consumer/*.py), plus the task events a worker
 * sends at Celery's points (celery/worker/strategy.py, request.py) and the revoked checks.
 * The Worker calls it from a few places; everything else lives here.
 */
import type { RateLimits } from '../worker/rate-limit.js';
import type { CeleryLogger } from '../../common/logger.js';
import type { ExceptionInfo } from '../../protocol/exceptions.js';
import { pythonRepr } from '../../protocol/python-repr.js';
import { matchRevokedStamp, sameStamp } from '../../protocol/stamps.js';
import { States } from '../../protocol/states.js';
import { TaskRevokedError } from '../../protocol/python-errors.js';
import type { TaskRequest } from '../../protocol/task-message.js';
import type { Broker, Delivery, PublishRoute, QueueDeclaration, TransportMessage } from '../../transport/broker.interface.js';
import { EventDispatcher } from '../events/event-dispatcher.js';
import { DEFAULT_HEARTBEAT_INTERVAL, Heart } from '../events/heart.js';
import type { LamportClock } from '../events/lamport-clock.js';
import { exceptionRepr, taskFailedFields, taskReceivedFields, taskRevokedFields, taskSucceededFields } from '../events/task-events.js';
import { WorkerState } from '../worker/worker-state.js';
import type { Control } from './control.js';
import { controlCommands, type PoolControl } from './control-commands.js';
import { PidboxNode } from './pidbox-node.js';
import { brokerInfo } from './broker-info.js';
import { redactUrl } from '../../common/redact-url.js';
import type { ObservedWorker, ReceivedTask, TaskSignals } from '../signals/task-signals.js';

/** Worker options for events, heartbeat and remote control (Celery's names in the comments). */
export interface WorkerNodeOptions {
  /** send task-received/started/succeeded/failed/… events (`worker_send_task_events`, `-E`); default false */
  sendTaskEvents?: boolean;
  /** no worker-online/heartbeat/offline events (`--without-heartbeat`); default false */
  withoutHeartbeat?: boolean;
  /** seconds between worker-heartbeat events (`--heartbeat-interval`); default 2 */
  heartbeatInterval?: number;
  /** answer remote-control commands (`worker_enable_remote_control`); default true */
  enableRemoteControl?: boolean;
  /**
   * sync revoked ids and the clock with the other workers at start (Celery's mingle, on unless
   * `--without-mingle`); default false here because it waits up to 1 s for replies
   */
  mingle?: boolean;
  /** remote-control requests larger than this (as received or decompressed) are dropped; default 8 MiB */
  controlMaxMessageBytes?: number;
  /** reply exchanges besides `reply.celery.pidbox` that remote control declares at most; default 16 */
  maxReplyExchanges?: number;
}

/** What the node needs of its Worker. */
export interface NodeWorker {
  readonly hostname: string;
  /** the queues consumed now */
  readonly consumedQueues: readonly string[];
  readonly running: ReadonlyMap<string, { abort(reason?: unknown): void }>;
  readonly registry: {
    names(): string[];
    get(name: string): { options: { rateLimit?: string | number | null } } | undefined;
    setTimeLimits(name: string, soft: number | null, hard: number | null): boolean;
  };
  readonly rateLimits: Pick<RateLimits, 'rateLimitOf' | 'set' | 'conf'>;
  /** the worker's defaults the commands report */
  readonly options: { timeLimit?: number; softTimeLimit?: number; ackMode?: string; rejectOnWorkerLost?: boolean; trackStarted?: boolean };
  /** the prefetch window applied now */
  readonly prefetchCount: number;
  addConsumer(queue: QueueDeclaration): Promise<void>;
  cancelConsumer(queue: string): Promise<void>;
  readonly app: {
    readonly broker: Broker;
    readonly signals: TaskSignals;
    readonly clock: LamportClock;
    readonly control: Control;
    readonly options: {
      broker?: unknown;
      backend?: unknown;
      acceptContent?: string[];
      taskSerializer?: string;
      taskDefaultQueue?: string;
      controlQueueExclusive?: boolean;
      controlQueueDurable?: boolean;
    };
    queueDeclaration(name: string): QueueDeclaration;
    publishDirect(what: string, message: TransportMessage, route: PublishRoute): Promise<void>;
  };
}

export interface NodeHooks {
  concurrency: number;
  /** the execution pool, for stats and pool_grow / pool_shrink / autoscale */
  pool: PoolControl;
  logger: CeleryLogger;
  /** the `shutdown` command: a warm shutdown, begun after the command returned */
  shutdown(reason: string): void;
  /** store REVOKED (TaskRevokedError(reason)) for the request, run its failure continuation, ack it */
  announceRevoked(delivery: Delivery, request: TaskRequest, reason: RevokeReason, signum: number | null): Promise<void>;
}

export type RevokeReason = 'revoked' | 'expired' | 'terminated';

export class WorkerNode {
  readonly state: WorkerState;
  readonly events: EventDispatcher;
  readonly heart?: Heart;
  private readonly pidbox?: PidboxNode;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly terminations = new Map<string, Promise<void>>();
  /** what the lifecycle observers are shown of each request, and the state it ended in */
  private readonly observed = new WeakMap<TaskRequest, ReceivedTask & { state: string | null }>();
  private readonly observedWorker: ObservedWorker;

  constructor(
    private readonly worker: NodeWorker,
    private readonly hooks: NodeHooks,
    private readonly options: WorkerNodeOptions = {},
  ) {
    const { hostname, app } = worker;
    this.state = new WorkerState(hostname);
    const state = this.state;
    this.observedWorker = {
      hostname,
      get activeCount() {
        return state.activeCount;
      },
      get prefetchedCount() {
        return state.prefetchedCount;
      },
    };
    // celery/worker/consumer/events.py: without task events only the worker group is sent
    this.events = new EventDispatcher(app, {
      hostname,
      enabled: !!options.sendTaskEvents || !options.withoutHeartbeat,
      groups: options.sendTaskEvents ? [] : ['worker'],
      logger: hooks.logger,
    });
    if (!options.withoutHeartbeat) {
      this.heart = new Heart(
        this.events,
        () => ({ active: this.state.activeCount, processed: this.state.processed }),
        options.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL,
      );
    }
    if (options.enableRemoteControl ?? true) {
      const commands = controlCommands({
        hostname,
        state: this.state,
        clock: app.clock,
        dispatcher: this.events,
        heart: this.heart,
        concurrency: hooks.concurrency,
        pool: hooks.pool,
        taskNames: () => worker.registry.names(),
        taskOption: (name, option) => {
          const task = worker.registry.get(name);
          if (task && option === 'rate_limit') return worker.rateLimits.rateLimitOf(name, task.options.rateLimit);
          return (task?.options as Record<string, unknown> | undefined)?.[camel(option)];
        },
        setRateLimit: (name, rate) => {
          if (!worker.registry.get(name)) return false;
          worker.rateLimits.set(name, rate);
          hooks.logger.log(rate ? `New rate limit for tasks of type ${name}: ${rate}.` : `Rate limits disabled for tasks of type ${name}`);
          return true;
        },
        queues: () => worker.consumedQueues.map((q) => app.queueDeclaration(q)),
        prefetchCount: () => worker.prefetchCount,
        brokerInfo: () => brokerInfo(app.options.broker, app.broker.kind),
        conf: (withDefaults) => this.conf(withDefaults),
        setTimeLimits: (name, soft, hard) => {
          const known = worker.registry.setTimeLimits(name, soft, hard);
          if (known) hooks.logger.log(`New time limits for tasks of type ${name}: soft=${soft ?? 'None'} hard=${hard ?? 'None'}`);
          else hooks.logger.error(`Change time limit attempt for unknown task ${name}`);
          return known;
        },
        addConsumer: (queue) => this.later(`add_consumer ${queue.name}`, () => worker.addConsumer(queue)),
        cancelConsumer: (queue) => this.later(`cancel_consumer ${queue}`, () => worker.cancelConsumer(queue)),
        shutdown: (reason) => {
          hooks.logger.warn(reason);
          // after the handler returned: the shutdown closes the mailbox that runs it
          setImmediate(() => hooks.shutdown(reason));
        },
        revoke: (ids, terminate, signum) => this.revoke(ids, terminate, signum),
        revokeByStamps: (headers, terminate, signum) => this.revokeByStamps(headers, terminate, signum),
      });
      this.pidbox = new PidboxNode(app, commands, {
        hostname,
        acceptContent: app.options.acceptContent,
        maxMessageBytes: options.controlMaxMessageBytes,
        maxReplyExchanges: options.maxReplyExchanges,
        queueFlags: { exclusive: app.options.controlQueueExclusive, durable: app.options.controlQueueDurable },
        logger: hooks.logger,
      });
    }
  }

  /** Events exchange, mingle, mailbox, then worker-online (Celery's bootstep order). */
  async start(): Promise<void> {
    if (this.events.enabled) {
      await this.events
        .declare()
        .catch((error: unknown) => this.hooks.logger.warn(`cannot declare the celeryev exchange: ${(error as Error)?.message ?? error}`));
    }
    if (this.options.mingle) await this.mingle();
    await this.pidbox?.start();
    await this.heart?.start();
    this.signals.emit('workerReady', this.observedWorker);
  }

  /** worker-offline, mailbox closed, waiting requests forgotten (their messages went back). */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.terminations.values()]);
    await Promise.allSettled([...this.pending]);
    await this.heart?.stop();
    await this.pidbox?.stop();
    this.state.clearWaiting();
    this.signals.emit('workerShutdown', this.observedWorker);
  }

  // ---- the task's way through the worker, at Celery's points

  /**
   * Checked on receipt and again right before running (celery/worker/request.py `revoked`):
   * an expired task joins the revoked ids; a revoked one is not run.
   */
  revokedReason(request: TaskRequest): RevokeReason | null {
    if (request.expires && request.expires.getTime() <= Date.now()) {
      this.state.revoked.add(request.id);
      return 'expired';
    }
    if (this.state.revoked.has(request.id)) return 'revoked';
    const stamp = request.stampedHeaders.length ? matchRevokedStamp(request.stamps, this.state.revokedStamps) : undefined;
    if (stamp) {
      this.hooks.logger.log(`task ${request.name}[${request.id}] revoked by stamp ${stamp.name}=${pythonRepr(stamp.value)}`);
      return 'revoked';
    }
    return null;
  }

  /** The message is accepted for running: task-received, reserved or scheduled. */
  received(request: TaskRequest, delivery: Delivery): void {
    this.state.taskReceived(request, delivery);
    if (this.signals.enabled) this.signals.emit('taskReceived', this.observe(request, delivery));
    // fields (reprs of args, kwargs, result) are built only for an event that goes out
    if (this.events.sends('task-received')) this.send('task-received', taskReceivedFields(request));
  }

  /** The handler is about to run: task-started, active. */
  started(request: TaskRequest, delivery: Delivery): void {
    this.state.taskAccepted(request, delivery);
    if (this.signals.enabled) this.signals.emit('taskPrerun', this.observe(request, delivery));
    if (this.events.sends('task-started')) this.send('task-started', { uuid: request.id });
  }

  /** The task's run, from prerun to its settled message, inside the observers' wrappers (tracing's active span). */
  run<T>(request: TaskRequest, delivery: Delivery, run: () => Promise<T>): Promise<T> {
    // nothing observes: no object made per task
    return this.signals.enabled ? this.signals.wrapRun(this.observe(request, delivery), run) : run();
  }

  /**
   * The outcome is stored: task-succeeded (result repr, runtime), task-retried or task-failed
   * (exception repr, traceback).
   */
  finished(request: TaskRequest, state: string, result: unknown, traceback: string | null): void {
    const type = state === States.SUCCESS ? 'task-succeeded' : state === States.RETRY ? 'task-retried' : 'task-failed';
    const observed = this.observed.get(request);
    if (observed) {
      observed.state = state;
      if (state === States.SUCCESS) this.signals.emit('taskSuccess', observed);
      else if (state === States.RETRY) this.signals.emit('taskRetry', observed, result as ExceptionInfo | null);
      else this.signals.emit('taskFailure', observed, result as ExceptionInfo | null);
    }
    // fields (reprs, runtime) are built only for an event that goes out
    if (!this.events.sends(type)) return;
    if (state === States.SUCCESS) {
      const started = this.state.active(request.id)?.startedAt;
      const runtime = started === undefined ? 0 : (performance.now() - started) / 1000;
      this.send('task-succeeded', taskSucceededFields(request, result, runtime));
    } else if (state === States.RETRY) {
      this.send('task-retried', { uuid: request.id, exception: result ? exceptionRepr(result as ExceptionInfo) : 'None', traceback });
    } else {
      this.send('task-failed', taskFailedFields(request, result as ExceptionInfo, traceback));
    }
  }

  /** REVOKED was stored for the request: task-revoked. */
  revokedAnnounced(request: TaskRequest, delivery: Delivery, reason: RevokeReason, signum: number | null): void {
    this.state.taskReady(request.id);
    if (this.signals.enabled) {
      const observed = this.observe(request, delivery);
      observed.state = States.REVOKED;
      this.signals.emit('taskRevoked', observed, reason);
    }
    this.send('task-revoked', taskRevokedFields(request, { terminated: reason === 'terminated', signum, expired: reason === 'expired' }));
  }

  /** The message was rejected (Celery's Reject): task-rejected. */
  rejected(request: TaskRequest, requeue: boolean): void {
    this.state.taskReady(request.id);
    const observed = this.observed.get(request);
    if (observed) this.signals.emit('taskRejected', observed, requeue);
    this.send('task-rejected', { uuid: request.id, requeue });
  }

  /** No handler for the task name (celery/worker/consumer/consumer.py `on_unknown_task`). */
  unknownTask(request: TaskRequest): void {
    this.send('task-failed', { uuid: request.id, exception: `NotRegistered(${pythonRepr(request.task)})` });
  }

  /** The request is done with, whatever happened. */
  ready(request: TaskRequest): void {
    this.state.taskReady(request.id);
    this.terminations.delete(request.id);
    const observed = this.observed.get(request);
    if (observed) this.signals.emit('taskPostrun', observed, observed.state);
  }

  private get signals(): TaskSignals {
    return this.worker.app.signals;
  }

  /** The request as the lifecycle observers see it, made once per request. */
  private observe(request: TaskRequest, delivery: Delivery): ReceivedTask & { state: string | null } {
    let observed = this.observed.get(request);
    if (!observed) {
      const { queue, routingKey } = delivery.deliveryInfo;
      observed = { request, queue, routingKey, hostname: this.worker.hostname, state: null };
      this.observed.set(request, observed);
    }
    return observed;
  }

  /** Set when `revoke --terminate` aborted the task: REVOKED is stored (or being stored), skip the outcome. */
  terminated(request: TaskRequest): Promise<void> | undefined {
    return this.terminations.get(request.id);
  }

  // ---- remote control

  /** celery/worker/control.py `revoke`: flag the ids; terminate aborts the running ones. */
  private revoke(ids: string[], terminate: boolean, signum: number): string[] {
    for (const id of ids) this.state.revoked.add(id);
    if (ids.length) this.hooks.logger.log(`tasks flagged as revoked: ${ids.join(', ')}`);
    if (!terminate) return [];
    const found: string[] = [];
    for (const id of ids) {
      const entry = this.state.find(id);
      if (!entry) continue;
      found.push(id);
      const controller = this.worker.running.get(id);
      if (!controller || this.terminations.has(id)) continue;
      this.hooks.logger.warn(`terminating task ${entry.request.name}[${id}] (signal ${signum}): its AbortSignal is aborted, REVOKED stored`);
      controller.abort(new TaskRevokedError('terminated'));
      // Celery announces at once (the process is killed); a JS handler cannot be killed, so its
      // eventual outcome is discarded instead
      const announced = this.hooks.announceRevoked(entry.delivery, entry.request, 'terminated', signum).catch((error: unknown) => {
        this.hooks.logger.error(`storing REVOKED for terminated task ${id} failed: ${(error as Error)?.message ?? error}`);
      });
      this.terminations.set(id, announced);
    }
    return found;
  }

  /**
   * celery/worker/control.py `revoke_by_stamped_headers`: the stamps join the revoked stamps (tasks
   * carrying one are skipped on receipt and before running); terminate aborts the running ones.
   * Returns, per stamp name, the values that matched a running task.
   */
  private revokeByStamps(headers: Record<string, unknown[]>, terminate: boolean, signum: number): Map<string, unknown[]> {
    this.state.revokeStamps(headers);
    this.hooks.logger.log(`stamps flagged as revoked: ${pythonRepr(headers)}`);
    const matched = new Map<string, unknown[]>();
    if (!terminate) return matched;
    const flagged = new Map(Object.entries(headers));
    const ids: string[] = [];
    for (const { request } of this.state.activeEntries()) {
      const stamp = matchRevokedStamp(request.stamps, flagged);
      if (!stamp) continue;
      const values = matched.get(stamp.name) ?? [];
      if (!values.some((v) => sameStamp(v, stamp.value))) values.push(stamp.value);
      matched.set(stamp.name, values);
      ids.push(request.id);
    }
    // the matching tasks are terminated as `revoke --terminate` does it (REVOKED 'terminated')
    if (ids.length) this.revoke(ids, true, signum);
    return matched;
  }

  private async mingle(): Promise<void> {
    const { app, hostname } = this.worker;
    try {
      const replies = await app.control.inspect({ timeout: 1000 }).hello(hostname, this.state.revoked.toWire());
      delete replies[hostname];
      let synced = 0;
      for (const reply of Object.values(replies)) {
        if (!reply) continue;
        synced++;
        if (typeof reply.clock === 'number') app.clock.adjust(reply.clock);
        if (reply.revoked) this.state.revoked.update(reply.revoked);
      }
      this.hooks.logger.log(synced ? `mingle: synced with ${synced} node(s)` : 'mingle: all alone');
    } catch (error) {
      this.hooks.logger.warn(`mingle failed: ${(error as Error)?.message ?? error}`);
    }
  }

  /** A remote-control action run soon after the reply (Celery's consumer.call_soon); a failure is logged. */
  private later(what: string, action: () => Promise<void>): void {
    const done = action().catch((error: unknown) => this.hooks.logger.error(`${what} failed: ${(error as Error)?.message ?? error}`));
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  /**
   * celery/worker/control.py `conf`: the settings that differ from Celery's defaults (the URLs
   * always, passwords masked), or with `with_defaults` every setting this worker honours.
   */
  private conf(withDefaults: boolean): Record<string, unknown> {
    const { app, options: worker } = this.worker;
    const redact = (url: unknown) => (typeof url === 'string' ? redactUrl(url, '********') : null);
    // [Celery's name, our value, Celery's default]
    const settings: [string, unknown, unknown][] = [
      ['task_default_queue', app.options.taskDefaultQueue ?? 'celery', 'celery'],
      ['task_serializer', app.options.taskSerializer ?? 'json', 'json'],
      ['accept_content', app.options.acceptContent ?? ['json'], ['json']],
      ['task_acks_late', (worker.ackMode ?? 'late') === 'late', false],
      ['task_reject_on_worker_lost', worker.rejectOnWorkerLost ?? true, null],
      ['task_track_started', !!worker.trackStarted, false],
      ['task_time_limit', worker.timeLimit ?? null, null],
      ['task_soft_time_limit', worker.softTimeLimit ?? null, null],
      ['worker_concurrency', this.hooks.concurrency, null],
      ['worker_prefetch_multiplier', 1, 4],
      ['worker_send_task_events', !!this.options.sendTaskEvents, false],
      ['worker_enable_remote_control', this.options.enableRemoteControl ?? true, true],
      ...Object.entries(this.worker.rateLimits.conf()).map(([name, value]): [string, unknown, unknown] => [
        name,
        value,
        name === 'worker_disable_rate_limits' ? false : null,
      ]),
    ];
    const out: Record<string, unknown> = {
      broker_url: redact(Array.isArray(app.options.broker) ? app.options.broker[0] : app.options.broker),
      result_backend: redact(app.options.backend),
    };
    for (const [name, value, celeryDefault] of settings) {
      if (withDefaults || JSON.stringify(value) !== JSON.stringify(celeryDefault)) out[name] = value;
    }
    return out;
  }

  private send(type: string, fields: Record<string, unknown>): void {
    if (!this.events.sends(type)) return;
    const sent = this.events.send(type, fields);
    this.pending.add(sent);
    void sent.finally(() => this.pending.delete(sent));
  }
}

/** Celery's task attribute names → our TaskOptions keys (`ignore_result` → `ignoreResult`). */
const camel = (name: string): string => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
