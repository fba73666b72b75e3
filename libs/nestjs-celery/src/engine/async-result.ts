// AsyncResult: the handle on a sent task (Celery's celery.result.AsyncResult) — get, state, revoke,
// and the parent/children tuple form Celery uses to rebuild a result graph.
import { Observable, filter, firstValueFrom, map, take, throwError, timeout as rxTimeout } from 'rxjs';
import { exceptionFromResult } from '../protocol/exceptions.js';
import type { ResultMeta } from '../protocol/result-meta.js';
import { PROPAGATE_STATES, States, isReady } from '../protocol/states.js';
import type { ResultBackend } from '../transport/result-backend.interface.js';
import type { NodeReplies } from './control/control.js';
import { CeleryError, CeleryTimeoutError, NoResultBackendError } from './errors.js';

/** `get()` options, Celery's `AsyncResult.get(timeout, propagate)`. */
export interface GetOptions {
  /** milliseconds; undefined waits forever */
  timeout?: number;
  /** throw on FAILURE/REVOKED (default true); false returns the exception */
  propagate?: boolean;
}

/** `revoke()` options, Celery's `AsyncResult.revoke(terminate, signal, wait, timeout)`. */
export interface RevokeResultOptions {
  /** also abort the task if it is running (Python workers signal its process) */
  terminate?: boolean;
  /** signal name for terminate, default 'SIGTERM' */
  signal?: string;
  /** wait for the workers' replies */
  wait?: boolean;
  /** with `wait`: ms to wait for the next reply (default 1000) */
  timeout?: number;
}

/** The app whose remote control revoke() goes through. */
export interface RevokingApp {
  readonly control: {
    revoke(taskId: string, options: { terminate?: boolean; signal?: string; reply?: boolean; timeout?: number }): Promise<NodeReplies>;
  };
}

/**
 * Celery's result tuple (`AsyncResult.as_tuple`): `[[id, parent tuple | null], null]` for a task,
 * `[[group id, parent | null], [member tuples]]` for a group; the shape of a result's `children`.
 */
export type ResultTuple = [[string, ResultTuple | null], ResultTuple[] | null];

/** What can be a result's parent: a task's AsyncResult or a GroupResult (a chord body's parent). */
export interface ResultNode {
  readonly id: string;
  parent: ResultNode | null;
  /** The result as Celery's `as_tuple()`: the id and parent chain, for passing a result's identity on. */
  asTuple(): ResultTuple;
}

/** A task's result, like Celery's AsyncResult, with Observables instead of polling. */
export class AsyncResult<T = unknown> implements ResultNode {
  /** the previous step of a chain (set when the canvas is frozen), like Celery's `result.parent` */
  parent: ResultNode | null;

  constructor(
    readonly id: string,
    private readonly backend?: ResultBackend | null,
    parent?: ResultNode | null,
    /** the app that sent it, for revoke() */
    private readonly app?: RevokingApp | null,
  ) {
    this.parent = parent ?? null;
  }

  /** Celery's `as_tuple()`: `[[id, parent tuple | null], null]`. */
  asTuple(): ResultTuple {
    return [[this.id, this.parent ? this.parent.asTuple() : null], null];
  }

  /** Every stored state of the task from now on (current first), completing at a ready state. */
  get state$(): Observable<ResultMeta> {
    if (!this.backend) throw new NoResultBackendError(this.id);
    return this.backend.watch(this.id);
  }

  /** Emits the result once and completes; errors with CeleryTaskError on FAILURE/REVOKED. */
  get result$(): Observable<T> {
    return this.state$.pipe(
      filter((meta) => isReady(meta.status)),
      take(1),
      map((meta) => this.unwrap(meta, true)),
    );
  }

  /** Wait for the result. Throws CeleryTaskError on failure, CeleryTimeoutError on timeout. */
  async get(options: GetOptions = {}): Promise<T> {
    const ready$ = this.state$.pipe(
      filter((meta) => isReady(meta.status)),
      take(1),
    );
    const waited =
      options.timeout === undefined
        ? ready$
        : ready$.pipe(rxTimeout({ first: options.timeout, with: () => throwError(() => new CeleryTimeoutError(this.id, options.timeout!)) }));
    const meta = await firstValueFrom(waited);
    return this.unwrap(meta, options.propagate ?? true);
  }

  /** The current state name (PENDING when nothing is stored). */
  async state(): Promise<string> {
    return (await this.meta())?.status ?? States.PENDING;
  }

  /** True once the task is in a ready state (SUCCESS, FAILURE or REVOKED), Celery's `AsyncResult.ready()`. */
  async ready(): Promise<boolean> {
    return isReady(await this.state());
  }

  /** The stored document, or undefined while PENDING. */
  async meta(): Promise<ResultMeta | undefined> {
    if (!this.backend) throw new NoResultBackendError(this.id);
    return this.backend.get(this.id);
  }

  /**
   * Tell every worker (Python or Nest) not to run this task: it is stored REVOKED when a worker
   * gets to it; with `terminate`, a running task is aborted. Resolves once the request is sent,
   * or with the workers' replies when `wait` is set.
   */
  revoke(options: RevokeResultOptions = {}): Promise<NodeReplies> {
    if (!this.app) {
      return Promise.reject(
        new CeleryError(
          `cannot revoke task ${this.id}: this AsyncResult has no app; get it from app.sendTask() or app.asyncResult(), or use app.control.revoke(id)`,
        ),
      );
    }
    return this.app.control.revoke(this.id, { terminate: options.terminate, signal: options.signal, reply: options.wait, timeout: options.timeout });
  }

  /** Delete the stored result, Celery's `AsyncResult.forget()`; the task reads as PENDING afterwards. */
  async forget(): Promise<void> {
    if (!this.backend) throw new NoResultBackendError(this.id);
    await this.backend.forget(this.id);
  }

  private unwrap(meta: ResultMeta, propagate: boolean): T {
    if (meta.status === States.SUCCESS) return meta.result as T;
    const error = exceptionFromResult(meta.result, meta.traceback, this.id, String(meta.status));
    if (propagate && PROPAGATE_STATES.has(meta.status)) throw error;
    return error as T;
  }
}
