/**
 * What a worker knows about its tasks, as Celery's worker keeps it (celery/worker/state.py):
 * requests received but not started (reserved), waiting for their ETA (scheduled), running
 * (active), the revoked ids, and how many tasks of each name it accepted. Remote control reads
 * it (`inspect active|reserved|scheduled|revoked|stats|query_task`), heartbeats report from it.
 */
import { toIsoString } from '../../protocol/dates.js';
import type { TaskRequest } from '../../protocol/task-message.js';
import type { Delivery } from '../../transport/broker.interface.js';
import { LimitedSet } from './limited-set.js';

/** Celery's REVOKES_MAX and REVOKE_EXPIRES (celery/worker/state.py). */
export const REVOKES_MAX = 50_000;
export const REVOKE_EXPIRES_SECONDS = 10_800;

export interface RequestEntry {
  readonly request: TaskRequest;
  readonly delivery: Delivery;
  /** epoch seconds the task started; null while reserved or scheduled */
  timeStart: number | null;
  /** performance.now() at start, for the runtime in task-succeeded */
  startedAt?: number;
}

/** Celery's `Request.info()`: what inspect active/reserved/scheduled and query_task list. */
export interface RequestInfo {
  id: string;
  name: string;
  args: unknown[] | string;
  kwargs: Record<string, unknown> | string;
  type: string;
  hostname: string;
  time_start: number | null;
  acknowledged: boolean;
  delivery_info: { exchange: string; routing_key: string; priority: number; redelivered: boolean };
  worker_pid: number | null;
}

export interface ScheduledInfo {
  eta: string | null;
  priority: number;
  request: RequestInfo;
}

export type TaskStateName = 'active' | 'reserved' | 'ready';

/** Celery gives ETA timer entries priority 6 (worker/strategy.py `call_at(..., priority=6)`). */
const ETA_PRIORITY = 6;

/** Stamp values flagged by revoke_by_stamped_headers kept at most (the oldest go first); Celery keeps all. */
export const REVOKED_STAMPS_MAX = 10_000;

export class WorkerState {
  readonly revoked = new LimitedSet(REVOKES_MAX, REVOKE_EXPIRES_SECONDS);
  /** stamp name → values flagged as revoked (Celery's `revoked_stamps`), in memory only */
  readonly revokedStamps = new Map<string, unknown[]>();
  private revokedStampCount = 0;
  /** tasks accepted (started) per name since start (Celery's `total_count`) */
  readonly totals = new Map<string, number>();
  /** tasks accepted since start (Celery's `all_total_count`, the heartbeat's `processed`) */
  processed = 0;
  readonly startedAt = Date.now();
  private readonly reservedRequests = new Map<string, RequestEntry>();
  private readonly scheduledRequests = new Map<string, RequestEntry>();
  private readonly activeRequests = new Map<string, RequestEntry>();

  constructor(readonly hostname: string) {}

  get activeCount(): number {
    return this.activeRequests.size;
  }

  /** Requests received and not started: reserved, or waiting for their ETA. */
  get prefetchedCount(): number {
    return this.reservedRequests.size + this.scheduledRequests.size;
  }

  /** A task message was accepted for running: reserved, or scheduled when its ETA is ahead. */
  taskReceived(request: TaskRequest, delivery: Delivery, now = Date.now()): void {
    const entry: RequestEntry = { request, delivery, timeStart: null };
    if (request.eta && request.eta.getTime() > now) this.scheduledRequests.set(request.id, entry);
    else this.reservedRequests.set(request.id, entry);
  }

  /** The task starts running (Celery's `task_accepted`). */
  taskAccepted(request: TaskRequest, delivery: Delivery): RequestEntry {
    const entry = this.reservedRequests.get(request.id) ?? this.scheduledRequests.get(request.id) ?? { request, delivery, timeStart: null };
    this.reservedRequests.delete(request.id);
    this.scheduledRequests.delete(request.id);
    entry.timeStart = Date.now() / 1000;
    entry.startedAt = performance.now();
    this.activeRequests.set(request.id, entry);
    this.totals.set(request.name, (this.totals.get(request.name) ?? 0) + 1);
    this.processed++;
    return entry;
  }

  /** The task is done with, whatever its fate (Celery's `task_ready`). */
  taskReady(id: string): void {
    this.reservedRequests.delete(id);
    this.scheduledRequests.delete(id);
    this.activeRequests.delete(id);
  }

  /** Forget what was waiting (the worker stopped and gave those messages back). */
  clearWaiting(): void {
    this.reservedRequests.clear();
    this.scheduledRequests.clear();
  }

  /** Celery's revoke_by_stamped_headers: add the values to each name's revoked stamps (bounded). */
  revokeStamps(headers: Record<string, unknown[]>): void {
    for (const [name, values] of Object.entries(headers)) {
      const list = this.revokedStamps.get(name) ?? [];
      list.push(...values);
      this.revokedStamps.set(name, list);
      this.revokedStampCount += values.length;
    }
    // the oldest flagged values go first once over the bound
    for (const [name, list] of this.revokedStamps) {
      if (this.revokedStampCount <= REVOKED_STAMPS_MAX) break;
      const drop = Math.min(list.length, this.revokedStampCount - REVOKED_STAMPS_MAX);
      list.splice(0, drop);
      this.revokedStampCount -= drop;
      if (!list.length) this.revokedStamps.delete(name);
    }
  }

  /** The requests running now. */
  activeEntries(): IterableIterator<RequestEntry> {
    return this.activeRequests.values();
  }

  active(id: string): RequestEntry | undefined {
    return this.activeRequests.get(id);
  }

  /** Requests received and not finished, by id (Celery's `requests`: reserved and active). */
  find(id: string): RequestEntry | undefined {
    return this.activeRequests.get(id) ?? this.reservedRequests.get(id);
  }

  stateOf(id: string): TaskStateName {
    if (this.activeRequests.has(id)) return 'active';
    if (this.reservedRequests.has(id)) return 'reserved';
    return 'ready';
  }

  activeInfo(safe = false): RequestInfo[] {
    return [...this.activeRequests.values()].map((e) => this.info(e, safe));
  }

  reservedInfo(safe = false): RequestInfo[] {
    return [...this.reservedRequests.values()].map((e) => this.info(e, safe));
  }

  scheduledInfo(): ScheduledInfo[] {
    return [...this.scheduledRequests.values()].map((e) => ({
      eta: e.request.eta ? toIsoString(e.request.eta) : null,
      priority: ETA_PRIORITY,
      request: this.info(e),
    }));
  }

  /** Celery's `Request.info(safe)`: safe=true gives the repr strings instead of the values. */
  info(entry: RequestEntry, safe = false): RequestInfo {
    const { request, delivery, timeStart } = entry;
    return {
      id: request.id,
      name: request.name,
      args: safe ? request.headers.argsrepr : request.args,
      kwargs: safe ? request.headers.kwargsrepr : request.kwargs,
      type: request.task,
      hostname: this.hostname,
      time_start: timeStart,
      // we acknowledge after the outcome is stored (acks_late style)
      acknowledged: false,
      delivery_info: {
        exchange: delivery.deliveryInfo.exchange,
        routing_key: delivery.deliveryInfo.routingKey,
        priority: typeof delivery.message.properties?.priority === 'number' ? delivery.message.properties.priority : 0,
        redelivered: delivery.deliveryInfo.redelivered,
      },
      worker_pid: timeStart === null ? null : process.pid,
    };
  }
}
