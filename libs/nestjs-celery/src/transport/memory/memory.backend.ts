// MemoryBackend: an in-process result backend for `memory://` (tests and single-process apps).
import { getProcessOid } from '../result-backend.oid.js';
import { BehaviorSubject, Observable } from 'rxjs';
import type { ResultMeta } from '../../protocol/result-meta.js';
import { States, isReady } from '../../protocol/states.js';
import type { ConnectionStatus } from '../connection-status.js';
import type { ResultBackend, ResultBackendCapabilities } from '../result-backend.interface.js';

/** Results shared by every MemoryBackend of the same `memory://<name>` in this process. */
class MemoryResultStore {
  private static readonly stores = new Map<string, MemoryResultStore>();
  static named(name: string): MemoryResultStore {
    let s = MemoryResultStore.stores.get(name);
    if (!s) MemoryResultStore.stores.set(name, (s = new MemoryResultStore()));
    return s;
  }
  readonly results = new Map<string, ResultMeta>();
  /** who watches each task id (one entry per id, not one broadcast to every watcher per store) */
  private readonly watchers = new Map<string, Set<(meta: ResultMeta) => void>>();

  publish(meta: ResultMeta): void {
    const watchers = this.watchers.get(meta.task_id);
    if (watchers) for (const emit of [...watchers]) emit(meta);
  }

  watch(taskId: string, emit: (meta: ResultMeta) => void): () => void {
    let set = this.watchers.get(taskId);
    if (!set) this.watchers.set(taskId, (set = new Set()));
    set.add(emit);
    return () => {
      set.delete(emit);
      if (set.size === 0 && this.watchers.get(taskId) === set) this.watchers.delete(taskId);
    };
  }
}

/** In-process result backend with the Redis backend's semantics (SUCCESS is final, watch = current + updates). */
export class MemoryBackend implements ResultBackend {
  readonly kind: string = 'memory';
  readonly capabilities: ResultBackendCapabilities = { chords: true };
  readonly watchCatchesUp = true;
  readonly oid = getProcessOid();
  private readonly store$: MemoryResultStore;
  private readonly status = new BehaviorSubject<ConnectionStatus>('connecting');
  readonly status$ = this.status.asObservable();

  constructor(url = 'memory://') {
    this.store$ = MemoryResultStore.named(new URL(url).host || 'default');
  }

  async connect(): Promise<void> {
    this.status.next('connected');
  }
  async close(): Promise<void> {
    this.status.next('closed');
  }

  async store(meta: ResultMeta): Promise<void> {
    if (this.store$.results.get(meta.task_id)?.status === States.SUCCESS) return;
    // a copy, as a real backend would serialize it
    const stored = structuredClone(meta);
    this.store$.results.set(meta.task_id, stored);
    this.store$.publish(stored);
  }

  async onTaskCall(): Promise<void> {}

  watch(taskId: string): Observable<ResultMeta> {
    return new Observable<ResultMeta>((subscriber) => {
      const emit = (meta: ResultMeta) => {
        subscriber.next(meta);
        if (isReady(meta.status)) subscriber.complete();
      };
      const unwatch = this.store$.watch(taskId, emit);
      const current = this.store$.results.get(taskId);
      if (current) emit(current);
      return unwatch;
    });
  }

  async get(taskId: string): Promise<ResultMeta | undefined> {
    return this.store$.results.get(taskId);
  }

  async forget(taskId: string): Promise<void> {
    this.store$.results.delete(taskId);
  }
}
