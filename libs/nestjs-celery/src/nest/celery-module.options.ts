// Options of CeleryModule, of CeleryServer and of named clients, and the helpers that split them into
// connection options and worker options.
import { Logger } from '@nestjs/common';
import type { CeleryLogger } from '../common/logger.js';
import type { CeleryOptions } from '../engine/celery.options.js';
import type { BeatOptions } from '../engine/beat/beat.js';
import type { WorkerOptions } from '../engine/worker/worker.js';
import type { CeleryErrorMapping } from './python-error.registry.js';

/** What the worker consumes and how (queues, concurrency, ackMode, time limits, …): the engine's WorkerOptions. */
export type CeleryWorkerOptions = Omit<WorkerOptions, 'logger'>;

/** One more client, injectable with `@InjectCeleryClient(name)`. */
export interface CeleryNamedClientOptions extends CeleryOptions {
  name: string;
}

/**
 * `CeleryModule.forRoot()` options: the default client's connection (Celery's settings:
 * broker URL or failover list, backend, task_default_queue, serializer, accept_content,
 * result_expires, task_queue_max_priority), plus:
 */
/**
 * The module's beat: the engine's BeatOptions (its logger is the module's); `schedule` may be left
 * out when the app's `@CelerySchedule` decorators declare the entries.
 */
export type CeleryBeatOptions = Omit<BeatOptions, 'logger' | 'schedule'> & Partial<Pick<BeatOptions, 'schedule'>>;

export interface CeleryModuleOptions extends CeleryOptions {
  /**
   * Run a worker for the `@CeleryTask` handlers in this app (on application bootstrap, on the
   * default client's connection). Leave unset when a CeleryServer runs them (the server takes
   * every `@CeleryTask` handler of the app it is connected to).
   */
  worker?: boolean | CeleryWorkerOptions;
  /**
   * Run a beat (periodic tasks, Celery's `beat_schedule`) in this app from bootstrap to shutdown:
   * embedded next to the `worker` (Celery's `-B`) or on its own; replicas elect one leader. Its
   * entries are `schedule` and the app's `@CelerySchedule` methods.
   */
  beat?: CeleryBeatOptions;
  /** More clients, each with its own connection. */
  clients?: CeleryNamedClientOptions[];
  /** Your error classes → Python exception names, e.g. `[[InsufficientFunds, 'billing.errors.InsufficientFunds']]`. */
  errors?: CeleryErrorMapping[];
}

/** `new CeleryServer(options)`: one connection plus what its worker consumes. */
export interface CeleryServerOptions extends CeleryOptions {
  worker?: CeleryWorkerOptions;
  errors?: CeleryErrorMapping[];
}

/**
 * The embedded default: with no broker configured, an in-process `memory://` broker and
 * `memory://` backend, so an app runs (and can be tested) without any service. A configured
 * broker without a backend means no results, as in Celery.
 */
export function withEmbeddedDefaults<T extends CeleryOptions>(options: T): T {
  if (options.broker !== undefined) return options;
  return { ...options, broker: 'memory://', backend: options.backend === undefined ? 'memory://' : options.backend };
}

/**
 * The logger of the app or worker: the given one, else Nest's Logger under `context`, except
 * with logFormat 'json', where the engine writes JSON lines itself (undefined).
 */
export function celeryLogger(options: CeleryOptions, context: string): CeleryLogger | undefined {
  return options.logger ?? (options.logFormat === 'json' ? undefined : new Logger(context));
}

/** The CeleryOptions part of a module/server/named-client options object. */
export function connectionOptions(options: CeleryModuleOptions | CeleryServerOptions | CeleryNamedClientOptions): CeleryOptions {
  const { worker: _worker, beat: _beat, clients: _clients, errors: _errors, name: _name, ...connection } = options as CeleryModuleOptions & { name?: string };
  return withEmbeddedDefaults(connection);
}

/** Worker options from the module's `worker` field (true = defaults). */
export function workerOptions(worker: CeleryModuleOptions['worker']): CeleryWorkerOptions | undefined {
  if (!worker) return undefined;
  return worker === true ? {} : worker;
}
