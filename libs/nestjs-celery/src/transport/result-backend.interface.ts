// The ResultBackend interface every result backend implements: store, get and wait for task states,
// and the optional native chord support.
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

/** One finished chord header task, as native chord bookkeeping records it. */
export interface ChordPart {
  taskId: string;
  state: string;
  /** the stored form: the return value, or the `{exc_type, exc_message, exc_module}` dict */
  result: unknown;
}

/**
 * Native chord bookkeeping (Celery's Redis backend: `set_chord_size`, `on_chord_part_return`).
 * A backend without it has chords joined by the `celery.chord_unlock` task instead.
 */
export interface NativeChordSupport {
  /** How many header tasks the chord waits for; set before any header task is sent. */
  setSize(groupId: string, size: number): Promise<void>;
  /**
   * Record one finished header task. Resolves every recorded part ordered by group index when
   * this part completed the chord (exactly one caller sees that), otherwise null.
   */
  onPartReturn(groupId: string, groupIndex: number | null, part: ChordPart): Promise<ChordPart[] | null>;
  /** Drop the chord's bookkeeping once its body was sent. */
  forget(groupId: string): Promise<void>;
}

/** What a result backend can do; the engine branches on these, never on its name. */
export interface ResultBackendCapabilities {
  /** Keeps the chord counters a chord's header needs (Celery: not the RPC backend, whose results go to one client). */
  readonly chords: boolean;
}

/**
 * A Celery result backend. Implementations: redis (SETEX+PUBLISH, one shared subscriber),
 * rpc (reply_to queue on the broker), memory.
 */
export interface ResultBackend {
  /** A label for humans and errors: 'redis' | 'rpc' | 'memory'. Never branched on. */
  readonly kind: string;
  readonly capabilities: ResultBackendCapabilities;
  readonly status$: Observable<ConnectionStatus>;
  /**
   * What clients put in the `reply_to` property. The RPC backend's reply queue name (Celery's
   * `app.thread_oid`); other backends return a stable per-process oid (Celery always sets it).
   */
  readonly oid: string;
  /** Open the connection; resolves once results can be stored and read. */
  connect(): Promise<void>;
  /** Close the connection; pending waits reject. */
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
   * True when `watch` reads the stored state only after its subscription is confirmed (Redis,
   * memory): nothing can be missed even if the task is published while `onTaskCall` is still
   * on its way, so a client may overlap the two round trips. False/absent (RPC): the reply
   * queue must exist before the task is published.
   */
  readonly watchCatchesUp?: boolean;

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

  /** Native chords (Redis); absent: chords are joined by `celery.chord_unlock`. */
  readonly chord?: NativeChordSupport;
}
