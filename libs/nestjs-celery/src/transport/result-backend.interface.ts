import type { Observable } from 'rxjs';
import type { ResultMeta } from '../protocol/result-meta.js';
import type { ConnectionStatus } from './connection-status.js';

/** Where a stored state has to go, taken from the task request. */
export interface StoreTarget {
  taskId: string;
  /** the request's reply_to (RPC backend publishes there; others ignore it) */
  replyTo?: string | null;
  /** the request's correlation_id (RPC), defaults to taskId */
  correlationId?: string | null;
}

/**
 * A Celery result backend. Implementations: redis (SETEX+PUBLISH, one shared subscriber),
 * rpc (reply_to queue on the broker), memory.
 */
export interface ResultBackend {
  /** 'redis' | 'rpc' | 'memory' */
  readonly kind: string;
  readonly status$: Observable<ConnectionStatus>;
  /**
   * What clients put in the `reply_to` property. The RPC backend's reply queue name (Celery's
   * `app.thread_oid`); other backends return a stable per-process oid (Celery always sets it).
   */
  readonly oid: string;
  connect(): Promise<void>;
  close(): Promise<void>;

  /** Store a state (worker side). Redis keeps SUCCESS final; RPC publishes to replyTo. */
  store(meta: ResultMeta, target: StoreTarget): Promise<void>;

  /**
   * Celery's `on_task_call`: called before a task whose result will be awaited is published,
   * resolves when nothing stored after this point can be missed by `watch` (Redis: SUBSCRIBE
   * confirmed; RPC: reply queue declared and consumed).
   */
  onTaskCall(taskId: string): Promise<void>;

  /**
   * Every state of `taskId` from now on: first the current stored state if there is one
   * (never a spurious PENDING), then each update; completes after a ready state
   * (SUCCESS/FAILURE/REVOKED). Unsubscribing releases backend resources for the id.
   */
  watch(taskId: string): Observable<ResultMeta>;

  /** The current stored state, or undefined when none (PENDING). */
  get(taskId: string): Promise<ResultMeta | undefined>;

  /** Delete a stored result (AsyncResult.forget). */
  forget(taskId: string): Promise<void>;
}
