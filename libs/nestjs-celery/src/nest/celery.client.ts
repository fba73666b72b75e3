// CeleryClient: the Nest ClientProxy that sends Celery tasks and follows their states and results.
import { randomUUID } from 'node:crypto';
import type { OnApplicationShutdown } from '@nestjs/common';
import { ClientProxy, type MsPattern, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { defer, map, switchMap, type Observable, type Subscription } from 'rxjs';
import type { AsyncResult } from '../engine/async-result.js';
import type { Canvas, CanvasResult, SignatureOptions } from '../engine/canvas/index.js';
import { Celery, type SendTaskOptions } from '../engine/celery.js';
import type { CeleryOptions } from '../engine/celery.options.js';
import type { TaskOptions } from '../engine/worker/task-context.js';
import type { CeleryTaskSource } from './celery-task-source.js';
import type { Control, NodeReplies, RevokeOptions } from '../engine/control/control.js';
import { NoResultBackendError } from '../engine/errors.js';
import { exceptionFromResult } from '../protocol/exceptions.js';
import { PROPAGATE_STATES, States, isReady } from '../protocol/states.js';
import { celeryLogger, withEmbeddedDefaults } from './celery-module.options.js';
import { CeleryClientCall, readClientCall } from './celery-payload.js';
import { celeryStatus, type CeleryStatus } from './celery.status.js';
import { isTaskContract, type TaskKwargs, type TaskContract } from './task-contract.js';
import { validateArguments } from './task-schemas.js';

/** One state of a task seen by `sendWithStates`: intermediate ones (STARTED, PROGRESS …), then the result. */
export type CeleryTaskUpdate<T = unknown> =
  { taskId: string; ready: false; state: string; meta: unknown } | { taskId: string; ready: true; state: 'SUCCESS'; result: T };

/**
 * A Nest ClientProxy that sends Celery tasks (to Python or Nest workers alike).
 *
 * Nest style: `send(name, payload, options?)` is a cold Observable of the result,
 * `emit(name, payload, options?)` sends without a result (ignore_result). The payload is an
 * array (args), `{ args, kwargs }`, or any other plain object (kwargs); see readPayload. Task
 * options (countdown, queue, taskId …) are only ever the third argument, never read from the
 * payload, so a request body forwarded as payload cannot set them.
 * Celery style: `sendTask(name, args, kwargs, options)` → AsyncResult; typed with a contract:
 * `call(addTask, [1, 2])`. Failures are CeleryTaskError (excType, excModule, excMessage, traceback).
 */
export class CeleryClient extends ClientProxy<Record<never, never>, CeleryStatus> implements OnApplicationShutdown {
  private readonly app: Celery;
  private readonly statusSubscription: Subscription;

  constructor(options: CeleryOptions = {}) {
    super();
    this.app = new Celery(withEmbeddedDefaults({ ...options, logger: celeryLogger(options, 'CeleryClient') }));
    this.statusSubscription = celeryStatus(this.app.broker.status$).subscribe((status) => this._status$.next(status));
  }

  connect(): Promise<void> {
    return this.app.connect();
  }

  async close(): Promise<void> {
    await this.app.close();
  }

  /** Nest lifecycle hook: closes the client's connections when the app shuts down. */
  async onApplicationShutdown(): Promise<void> {
    await this.close();
    this.statusSubscription.unsubscribe();
  }

  /**
   * Called by CeleryModule for the clients it creates: sends of the app's `@CeleryTask` tasks
   * take their own `queue` and `serializer` (method, else `@CeleryProcessor` options) where the
   * send's options and the task's contract leave them unset, above task_routes (Celery's task
   * attributes).
   */
  addTaskSource(source: Pick<CeleryTaskSource, 'tasks'>): void {
    let byName: Map<string, TaskOptions> | undefined;
    this.app.addTaskDefaults((name) => (byName ??= new Map(source.tasks().map((task) => [task.name, task.options]))).get(name));
  }

  /** The engine's Celery app (broker, backend, sendTask), usable without Nest. */
  unwrap<T = Celery>(): T {
    return this.app as T;
  }

  /** Send a task, Celery's `send_task`/`apply_async`: resolves once the broker took the message. */
  sendTask<A extends unknown[], R, K extends object>(
    task: TaskContract<A, R, K>,
    args: NoInfer<A>,
    kwargs?: NoInfer<K>,
    options?: SendTaskOptions,
  ): Promise<AsyncResult<R>>;
  sendTask<R = unknown>(name: string, args?: unknown[], kwargs?: TaskKwargs, options?: SendTaskOptions): Promise<AsyncResult<R>>;
  sendTask(task: string | TaskContract, args: unknown[] = [], kwargs: object = {}, options: SendTaskOptions = {}): Promise<AsyncResult<unknown>> {
    return this.sendResolved(task, args, kwargs as TaskKwargs, options);
  }

  /** A typed call through a contract: a cold Observable of the result (like `send`). */
  call<A extends unknown[], R, K extends object>(task: TaskContract<A, R, K>, args: NoInfer<A>, kwargs?: NoInfer<K>, options?: SendTaskOptions): Observable<R> {
    return this.send<R>(task, { args, kwargs: kwargs ?? {} }, options);
  }

  /**
   * Send a task and observe its result (Nest's `send`). `data` holds the task's arguments only
   * (see readPayload); `options` are the task options (Celery's apply_async options), refused
   * with InvalidTaskOptionsError when a key is unknown.
   */
  override send<TResult = unknown, TInput = unknown>(pattern: unknown, data: TInput, options?: SendTaskOptions): Observable<TResult> {
    return super.send<TResult, unknown>(pattern, data == null ? data : new CeleryClientCall(data, options ?? {}));
  }

  /** Send a task without a result (ignore_result), Nest's `emit`; `options` as for `send`. */
  override emit<TResult = unknown, TInput = unknown>(pattern: unknown, data: TInput, options?: SendTaskOptions): Observable<TResult> {
    return super.emit<TResult, unknown>(pattern, data == null ? data : new CeleryClientCall(data, options ?? {}));
  }

  /**
   * Like `send`, but emits every stored state first (STARTED with task_track_started, custom
   * states such as PROGRESS from `updateState`), then the SUCCESS result, and completes; a
   * FAILURE/REVOKED errors with CeleryTaskError. Backends keep only the latest state, so a
   * quick task may skip intermediate ones.
   */
  sendWithStates<T = unknown>(pattern: string | TaskContract, payload: unknown, options?: SendTaskOptions): Observable<CeleryTaskUpdate<T>> {
    return defer(() => this.sendAwaited<T>(pattern, new CeleryClientCall(payload, options ?? {}))).pipe(
      switchMap((result) => result.state$),
      map((meta): CeleryTaskUpdate<T> => {
        if (meta.status === States.SUCCESS) return { taskId: meta.task_id, ready: true, state: States.SUCCESS, result: meta.result as T };
        if (PROPAGATE_STATES.has(meta.status) || isReady(meta.status)) throw exceptionFromResult(meta.result, meta.traceback, meta.task_id, meta.status);
        return { taskId: meta.task_id, ready: false, state: meta.status, meta: meta.result };
      }),
    );
  }

  /**
   * Apply a canvas (a signature, chain, group, chord, xmap/xstarmap or chunks), Celery's
   * `apply_async`: resolves once the broker took its first messages, with the result to wait on:
   * an AsyncResult (a chain's last step, `.parent` leading back; a chord's body, `.parent` its
   * header GroupResult), or a GroupResult for a group or chunks.
   */
  apply<R extends CanvasResult>(canvas: Canvas<R>, args?: unknown[], kwargs?: Record<string, unknown>, options?: SignatureOptions): Promise<R> {
    return canvas.applyAsync(this.app, args, kwargs, options);
  }

  /**
   * Like `apply`, as a cold Observable of the canvas's value (sent on subscribe): the last
   * step's result, a chord body's, or a group's results in member order. Errors with
   * CeleryTaskError (GroupMemberError for a group member, naming it).
   */
  apply$<T = unknown>(canvas: Canvas, args?: unknown[], kwargs?: Record<string, unknown>, options?: SignatureOptions): Observable<T> {
    return defer(() => this.apply(canvas, args, kwargs, options)).pipe(switchMap((result) => result.result$ as Observable<T>));
  }

  /** An AsyncResult for a task id (sent by anyone). */
  asyncResult<T = unknown>(taskId: string): AsyncResult<T> {
    return this.app.asyncResult<T>(taskId);
  }

  /**
   * Tell every worker, Python or Nest, not to run these tasks (stored REVOKED when a worker gets
   * to them); with `terminate`, a running one is aborted. Celery's `app.control.revoke`.
   */
  revoke(taskId: string | string[], options?: RevokeOptions): Promise<NodeReplies> {
    return this.app.control.revoke(taskId, options);
  }

  /** Remote control of workers: ping, inspect(), broadcast, heartbeat (Celery's `app.control`). */
  get control(): Control {
    return this.app.control;
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const subscription = defer(() => this.sendAwaited(packet.pattern, packet.data))
      .pipe(switchMap((result) => result.result$))
      .subscribe({
        next: (response) => callback({ response, isDisposed: true }),
        error: (err: unknown) => callback({ err }),
      });
    return () => subscription.unsubscribe();
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    const { args, kwargs, options } = readClientCall(packet.data);
    await this.sendResolved(packet.pattern, args, kwargs, { ...options, ignoreResult: true });
    return undefined as T;
  }

  /** Send a task whose result will be awaited: refuses before sending when there is no backend. */
  private async sendAwaited<T>(pattern: unknown, data: unknown): Promise<AsyncResult<T>> {
    const { args, kwargs, options } = readClientCall(data);
    const taskId = options.taskId ?? randomUUID();
    if (!this.app.backend) throw new NoResultBackendError(taskId);
    return this.sendResolved<T>(pattern, args, kwargs, { ...options, taskId, ignoreResult: false });
  }

  /**
   * The pattern's task name, and a contract's default options under the given ones; a contract's
   * schemas check the call first (TaskValidationError, nothing published). The call goes out as
   * given: the worker runs the same schemas on it.
   */
  private async sendResolved<T>(pattern: unknown, args: unknown[], kwargs: TaskKwargs, options: SendTaskOptions): Promise<AsyncResult<T>> {
    const { name, defaults } = this.resolveTask(pattern);
    if (isTaskContract(pattern)) await validateArguments(pattern, args, kwargs);
    return this.app.sendTask<T>(name, args, kwargs, { ...defaults, ...options });
  }

  private resolveTask(pattern: unknown): { name: string; defaults: SendTaskOptions } {
    if (typeof pattern === 'string') return { name: pattern, defaults: {} };
    if (isTaskContract(pattern)) return { name: pattern.name, defaults: pattern.options ?? {} };
    // a Nest object pattern ({ cmd: 'sum' }) names the task by its normalized form, as servers route it
    return { name: this.normalizePattern(pattern as MsPattern), defaults: {} };
  }
}
