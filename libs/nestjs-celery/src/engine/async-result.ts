import { Observable, filter, firstValueFrom, map, take, throwError, timeout as rxTimeout } from 'rxjs';
import { exceptionFromResult } from '../protocol/exceptions.js';
import type { ResultMeta } from '../protocol/result-meta.js';
import { PROPAGATE_STATES, States, isReady } from '../protocol/states.js';
import type { ResultBackend } from '../transport/result-backend.interface.js';
import { CeleryTimeoutError, NoResultBackendError } from './errors.js';

export interface GetOptions {
  /** milliseconds; undefined waits forever */
  timeout?: number;
  /** throw on FAILURE/REVOKED (default true); false returns the exception */
  propagate?: boolean;
}

/** A task's result, like Celery's AsyncResult, with Observables instead of polling. */
export class AsyncResult<T = unknown> {
  constructor(
    readonly id: string,
    private readonly backend?: ResultBackend | null,
    readonly parent?: AsyncResult | null,
  ) {}

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
    const ready$ = this.state$.pipe(filter((meta) => isReady(meta.status)), take(1));
    const waited = options.timeout === undefined ? ready$ : ready$.pipe(rxTimeout({ first: options.timeout, with: () => throwError(() => new CeleryTimeoutError(this.id, options.timeout!)) }));
    const meta = await firstValueFrom(waited);
    return this.unwrap(meta, options.propagate ?? true);
  }

  /** The current state name (PENDING when nothing is stored). */
  async state(): Promise<string> {
    return (await this.meta())?.status ?? States.PENDING;
  }

  async ready(): Promise<boolean> {
    return isReady(await this.state());
  }

  /** The stored document, or undefined while PENDING. */
  async meta(): Promise<ResultMeta | undefined> {
    if (!this.backend) throw new NoResultBackendError(this.id);
    return this.backend.get(this.id);
  }

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

