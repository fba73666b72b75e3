// CeleryServer: the Nest microservice transport that is a Celery worker (connectMicroservice({ strategy })).
import { EventEmitter } from 'node:events';
import { Logger } from '@nestjs/common';
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import type { Subscription } from 'rxjs';
import { Celery } from '../engine/celery.js';
import type { TaskContext } from '../engine/worker/task-context.js';
import { Worker } from '../engine/worker/worker.js';
import { CELERY_LOGGER_CONTEXT, CELERY_TRANSPORT } from './celery.constants.js';
import type { CeleryContext } from './celery.context.js';
import type { CeleryTaskSource } from './celery-task-source.js';
import { celeryLogger, connectionOptions, type CeleryServerOptions } from './celery-module.options.js';
import { registerBindings, toTaskHandler, type CeleryTaskBinding } from './celery-task.runner.js';
import { celeryStatus, type CeleryStatus } from './celery.status.js';
import { PythonErrorRegistry } from './python-error.registry.js';

/** Events of `CeleryServer.on()`, emitted after each task run by this server. */
export type CeleryServerEvents = {
  /** a task run by this server succeeded (after its result was stored) */
  'task-succeeded': (task: TaskContext, result: unknown) => void;
  /** a task run by this server failed (after its FAILURE was stored) */
  'task-failed': (task: TaskContext, error: unknown) => void;
  /** a connection is up (again): which one */
  connected: (connection: 'broker' | 'backend') => void;
  /** a connection was lost; the transport reconnects with backoff */
  disconnected: (connection: 'broker' | 'backend') => void;
  /** a lost connection is being re-established */
  reconnecting: (connection: 'broker' | 'backend') => void;
};

/**
 * A Nest microservice transport that is a Celery worker.
 *
 * It runs, as Celery tasks named by their pattern:
 * - the `@MessagePattern('tasks.add')` / `@EventPattern` handlers Nest gives it (any transport,
 *   or `CELERY_TRANSPORT`); the handler's data is the CeleryPayload `{ args, kwargs }` and its
 *   context the CeleryContext; an event handler's result is not stored (its failure is);
 * - every `@CeleryTask` handler of the app when CeleryModule is imported.
 *
 * `new CeleryServer()` without options uses the CeleryModule's options (connection, `worker`,
 * `errors`), so the configuration lives in one place.
 */
export class CeleryServer extends Server<CeleryServerEvents, CeleryStatus> implements CustomTransportStrategy {
  override transportId = CELERY_TRANSPORT;
  /** failures of event handlers are stored as FAILURE here, so Nest need not log them */
  override readonly propagatesEventHandlerErrors = true;
  protected override readonly logger = new Logger(CELERY_LOGGER_CONTEXT);
  private readonly sources = new Set<CeleryTaskSource>();
  private readonly events = new EventEmitter();
  private app?: Celery;
  private worker?: Worker;
  private statusSubscription?: Subscription;

  constructor(private readonly options?: CeleryServerOptions) {
    super();
  }

  /** Called by CeleryModule for the app this server belongs to: its `@CeleryTask` handlers run here too. */
  addTaskSource(source: CeleryTaskSource): void {
    this.sources.add(source);
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      await this.start();
    } catch (error) {
      await this.close().catch(() => undefined);
      return callback(error);
    }
    callback();
  }

  async close(): Promise<void> {
    const { worker, app } = this;
    this.worker = undefined;
    this.app = undefined;
    await worker?.stop();
    await app?.close();
    this.statusSubscription?.unsubscribe();
    this.statusSubscription = undefined;
    if (app) this._status$.next('disconnected');
  }

  on<K extends keyof CeleryServerEvents>(event: K, callback: CeleryServerEvents[K]): void {
    this.events.on(event, callback);
  }

  /** The engine Worker (its `app` is the Celery app: broker, backend). */
  unwrap<T = Worker>(): T {
    if (!this.worker) throw new Error('CeleryServer is not listening: call listen() (or app.startAllMicroservices()) before unwrap()');
    return this.worker as T;
  }

  private async start(): Promise<void> {
    const moduleSource = [...this.sources][0];
    const options: CeleryServerOptions = this.options ?? serverOptionsOf(moduleSource) ?? {};
    const workerOptions = options.worker ?? {};
    const errors = new PythonErrorRegistry(options.errors);
    const app = (this.app = new Celery({ ...connectionOptions(options), logger: celeryLogger(options, CELERY_LOGGER_CONTEXT) }));
    const worker = (this.worker = new Worker(app, { ...workerOptions, logger: celeryLogger(options, 'CeleryWorker') }));
    const around = (context: CeleryContext, run: () => Promise<unknown>) => this.process(context, run);
    const bound = [...this.patternBindings()].map((binding) => ({ binding, handler: toTaskHandler(binding, errors, around) }));
    for (const source of this.sources) {
      for (const binding of source.tasks()) bound.push({ binding, handler: toTaskHandler(binding, source.errors, around) });
    }
    registerBindings(worker, bound);
    this.statusSubscription = celeryStatus(app.broker.status$).subscribe((status) => {
      this._status$.next(status);
      this.reportStatus('broker', status);
    });
    if (app.backend) this.statusSubscription.add(celeryStatus(app.backend.status$).subscribe((status) => this.reportStatus('backend', status)));
    await worker.start();
  }

  private readonly lastStatus = new Map<'broker' | 'backend', CeleryStatus>();
  /** connections that were connected once: only those can be lost (a broker starts out 'disconnected') */
  private readonly everConnected = new Set<'broker' | 'backend'>();
  /** connections whose loss was logged and whose recovery is still to be */
  private readonly lossLogged = new Set<'broker' | 'backend'>();

  /** Status changes become events (`on('disconnected', …)`); losses and recoveries one log line each. */
  private reportStatus(connection: 'broker' | 'backend', status: CeleryStatus): void {
    const previous = this.lastStatus.get(connection);
    if (previous === status) return;
    this.lastStatus.set(connection, status);
    this.events.emit(status, connection);
    if (status === 'connected') {
      this.everConnected.add(connection);
      if (this.lossLogged.delete(connection)) this.logger.log(`${connection} connection restored`);
    } else if (this.app && this.everConnected.has(connection)) {
      this.lossLogged.add(connection);
      this.logger.warn(`${connection} connection ${status === 'disconnected' ? 'lost' : status}: recovering with backoff`);
    }
  }

  /** Nest's @MessagePattern/@EventPattern handlers, named by their normalized pattern. */
  private *patternBindings(): Iterable<CeleryTaskBinding> {
    for (const [pattern, handler] of this.getHandlers()) {
      const nest: MessageHandler = handler;
      yield {
        name: pattern,
        invoke: (payload, context) => nest(payload, context),
        // an event handler's result is not stored, its failure is
        options: { ignoreResult: !!nest.isEventHandler, storeErrorsEvenIfIgnored: true },
        source: `${nest.isEventHandler ? '@EventPattern' : '@MessagePattern'}('${pattern}')`,
      };
    }
  }

  /** One task run inside Nest's processing hooks (instrumentation), then this server's events. */
  private process(context: CeleryContext, run: () => Promise<unknown>): Promise<unknown> {
    const task = context.getTaskContext();
    return new Promise<unknown>((resolve, reject) => {
      this.runWithProcessingHooks(context, async (end) => {
        let outcome: { ok: true; result: unknown } | { ok: false; error: unknown };
        try {
          outcome = { ok: true, result: await run() };
        } catch (error) {
          outcome = { ok: false, error };
        } finally {
          end();
        }
        if (outcome.ok) resolve(outcome.result);
        else reject(outcome.error);
        this.emit(outcome.ok ? 'task-succeeded' : 'task-failed', task, outcome.ok ? outcome.result : outcome.error);
      });
    });
  }

  /** A listener that throws must not change the task's outcome. */
  private emit(event: keyof CeleryServerEvents, task: TaskContext, value: unknown): void {
    try {
      this.events.emit(event, task, value);
    } catch (error) {
      this.logger.error(`a "${event}" listener threw for task ${task.task}[${task.id}]: ${(error as Error)?.stack ?? String(error)}`);
    }
  }
}

/** A server without options takes the CeleryModule's: its connection, `worker` and `errors`. */
function serverOptionsOf(source: CeleryTaskSource | undefined): CeleryServerOptions | undefined {
  if (!source) return undefined;
  const { clients: _clients, worker, ...rest } = source.options;
  return { ...rest, worker: worker && worker !== true ? worker : undefined };
}
