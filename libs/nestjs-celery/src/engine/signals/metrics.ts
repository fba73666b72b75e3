// Prometheus metrics (prom-client, loaded only when enabled) as an observer of the task lifecycle:
// task counts by name and queue, runtime and queue-wait histograms, gauges, connections, publishes.
import type { Counter, Histogram, Registry } from 'prom-client';
import { loadDriver } from '../../transport/driver-loader.js';
import type { ConnectionStatus } from '../../transport/connection-status.js';
import type { Observable } from 'rxjs';
import type { ObservedWorker, PublishedTask, ReceivedTask, TaskSignalObserver } from './task-signals.js';

/** `metrics` of CeleryOptions: true for prom-client's default registry, or the registry to use. */
export interface MetricsOptions {
  /** default: prom-client's global `register` */
  registry?: Registry;
  /** bucket bounds of the runtime and queue-wait histograms, seconds (default 5 ms … 10 min) */
  buckets?: number[];
}

/**
 * The header a metrics-enabled client adds to each task message: when it was published, Unix
 * seconds (as Python's time.time()). Celery's messages carry no sent time; a worker observes the
 * queue wait of messages that have it (or an ETA), and leaves others out rather than guess.
 */
export const SENT_AT_HEADER = 'sent_at';

export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

type TaskLabels = 'task' | 'queue';

/** One set of metric objects per registry: several apps (a module's clients, a server) share them. */
interface Instruments {
  received: Counter<TaskLabels>;
  started: Counter<TaskLabels>;
  succeeded: Counter<TaskLabels>;
  failed: Counter<TaskLabels>;
  retried: Counter<TaskLabels>;
  rejected: Counter<TaskLabels>;
  revoked: Counter<TaskLabels | 'reason'>;
  runtime: Histogram<TaskLabels>;
  wait: Histogram<TaskLabels>;
  published: Counter<TaskLabels>;
  publishFailed: Counter<TaskLabels>;
  workers: Set<ObservedWorker>;
  connections: Set<{ component: 'broker' | 'backend'; status: () => ConnectionStatus }>;
}

const byRegistry = new WeakMap<Registry, Instruments>();

const STATES: ConnectionStatus[] = ['connecting', 'connected', 'disconnected', 'reconnecting', 'closed'];

function instruments(registry: Registry, buckets: number[]): Instruments {
  let found = byRegistry.get(registry);
  if (found) return found;
  const client = loadDriver('prom-client');
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) => new client.Counter<L>({ name, help, labelNames, registers });
  const taskLabels: TaskLabels[] = ['task', 'queue'];
  const workers = new Set<ObservedWorker>();
  const connections: Instruments['connections'] = new Set();
  const sum = (pick: (w: ObservedWorker) => number) => [...workers].reduce((n, w) => n + pick(w), 0);
  new client.Gauge({
    name: 'celery_worker_tasks_active',
    help: 'Tasks running now (in flight)',
    registers,
    collect() {
      this.set(sum((w) => w.activeCount));
    },
  });
  new client.Gauge({
    name: 'celery_worker_tasks_prefetched',
    help: 'Tasks received and not started yet: reserved, or held for their ETA',
    registers,
    collect() {
      this.set(sum((w) => w.prefetchedCount));
    },
  });
  new client.Gauge<'component' | 'state'>({
    name: 'celery_connections',
    help: 'Broker and result backend connections by state (each connection is 1 in its current state)',
    labelNames: ['component', 'state'],
    registers,
    collect() {
      this.reset();
      for (const component of ['broker', 'backend'] as const) {
        for (const state of STATES) {
          const n = [...connections].filter((c) => c.component === component && c.status() === state).length;
          if (n || state === 'connected') this.set({ component, state }, n);
        }
      }
    },
  });
  found = {
    received: counter('celery_tasks_received_total', 'Task messages a worker accepted for running', taskLabels),
    started: counter('celery_tasks_started_total', 'Tasks that started running', taskLabels),
    succeeded: counter('celery_tasks_succeeded_total', 'Tasks that succeeded (outcome stored)', taskLabels),
    failed: counter('celery_tasks_failed_total', 'Tasks that failed (outcome stored)', taskLabels),
    retried: counter('celery_tasks_retried_total', 'Tasks that asked to be retried (next attempt published)', taskLabels),
    rejected: counter('celery_tasks_rejected_total', 'Tasks that rejected their message (Reject)', taskLabels),
    revoked: counter('celery_tasks_revoked_total', 'Tasks revoked, expired or terminated (REVOKED stored)', [...taskLabels, 'reason']),
    runtime: new client.Histogram<TaskLabels>({
      name: 'celery_task_runtime_seconds',
      help: 'Time from a task starting to its outcome being stored',
      labelNames: taskLabels,
      buckets,
      registers,
    }),
    wait: new client.Histogram<TaskLabels>({
      name: 'celery_task_queue_wait_seconds',
      help: 'Time from a task being sent (or its ETA, when later) to it starting; messages without a sent time are not observed',
      labelNames: taskLabels,
      buckets,
      registers,
    }),
    published: counter('celery_tasks_published_total', 'Task messages a client published (broker confirmed)', taskLabels),
    publishFailed: counter('celery_task_publish_failures_total', 'Task publishes that failed (refused, timed out, broker unavailable)', taskLabels),
    workers,
    connections,
  };
  byRegistry.set(registry, found);
  return found;
}

/** Where an app's connection states come from. */
export interface ConnectionSources {
  broker: { status$: Observable<ConnectionStatus> };
  backend: { status$: Observable<ConnectionStatus> } | null;
}

/** The metrics observer of one app. */
export class MetricsObserver implements TaskSignalObserver {
  private readonly m: Instruments;
  private readonly startedAt = new WeakMap<ReceivedTask['request'], number>();

  constructor(options: MetricsOptions, sources: ConnectionSources) {
    const registry = options.registry ?? loadDriver('prom-client').register;
    this.m = instruments(registry, options.buckets ?? DEFAULT_BUCKETS);
    for (const [component, source] of [
      ['broker', sources.broker],
      ['backend', sources.backend],
    ] as const) {
      if (!source) continue;
      let status: ConnectionStatus = 'connecting';
      const entry = { component, status: () => status };
      this.m.connections.add(entry);
      source.status$.subscribe({
        next: (s) => {
          status = s;
          if (s === 'closed') this.m.connections.delete(entry);
        },
      });
    }
  }

  beforeTaskPublish(task: PublishedTask): (error?: unknown) => void {
    task.headers[SENT_AT_HEADER] = Date.now() / 1000;
    const labels = { task: task.task, queue: task.queue };
    return (error) => (error === undefined ? this.m.published.inc(labels) : this.m.publishFailed.inc(labels));
  }

  taskReceived(task: ReceivedTask): void {
    this.m.received.inc(labelsOf(task));
  }

  taskPrerun(task: ReceivedTask): void {
    const labels = labelsOf(task);
    this.m.started.inc(labels);
    const now = Date.now();
    this.startedAt.set(task.request, performance.now());
    const sent = sentAt(task);
    if (sent !== undefined) this.m.wait.observe(labels, Math.max(0, now / 1000 - sent));
  }

  taskSuccess(task: ReceivedTask): void {
    this.m.succeeded.inc(labelsOf(task));
  }

  taskFailure(task: ReceivedTask): void {
    this.m.failed.inc(labelsOf(task));
  }

  taskRetry(task: ReceivedTask): void {
    this.m.retried.inc(labelsOf(task));
  }

  taskRejected(task: ReceivedTask): void {
    this.m.rejected.inc(labelsOf(task));
  }

  taskRevoked(task: ReceivedTask, reason: string): void {
    this.m.revoked.inc({ ...labelsOf(task), reason });
  }

  taskPostrun(task: ReceivedTask): void {
    const started = this.startedAt.get(task.request);
    if (started === undefined) return;
    this.startedAt.delete(task.request);
    this.m.runtime.observe(labelsOf(task), (performance.now() - started) / 1000);
  }

  workerReady(worker: ObservedWorker): void {
    this.m.workers.add(worker);
  }

  workerShutdown(worker: ObservedWorker): void {
    this.m.workers.delete(worker);
  }
}

function labelsOf(task: ReceivedTask): Record<TaskLabels, string> {
  return { task: task.request.name, queue: task.queue };
}

/** The later of the message's sent time and its ETA, Unix seconds; undefined when it carries neither. */
function sentAt(task: ReceivedTask): number | undefined {
  const raw = task.request.headers[SENT_AT_HEADER];
  const sent = typeof raw === 'number' && Number.isFinite(raw) ? raw : undefined;
  const eta = task.request.eta ? task.request.eta.getTime() / 1000 : undefined;
  if (sent === undefined) return eta;
  return eta === undefined ? sent : Math.max(sent, eta);
}
