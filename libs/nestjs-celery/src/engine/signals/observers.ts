// The observers an app's options ask for (metrics, tracing, your own), built into its TaskSignals.
import type { Broker } from '../../transport/broker.interface.js';
import type { ResultBackend } from '../../transport/result-backend.interface.js';
import { MetricsObserver, type MetricsOptions } from './metrics.js';
import { TaskSignals, type TaskSignalObserver } from './task-signals.js';
import { TracingObserver, type TracingOptions } from './tracing.js';

/** The observability part of CeleryOptions. */
export interface SignalOptions {
  /** Prometheus metrics through prom-client (an optional peer dependency): true, or `{ registry }` */
  metrics?: boolean | MetricsOptions;
  /** OpenTelemetry spans through @opentelemetry/api (an optional peer dependency): true, or `{ tracerProvider }` */
  tracing?: boolean | TracingOptions;
  /** more observers of the task lifecycle (Celery's signals), called after metrics and tracing */
  signals?: TaskSignalObserver[];
}

/** messaging.system of the OpenTelemetry conventions for a broker kind. */
function messagingSystem(kind: string): string {
  return kind === 'amqp' ? 'rabbitmq' : kind;
}

export function createTaskSignals(options: SignalOptions, broker: Broker, backend: ResultBackend | null): TaskSignals {
  const observers: TaskSignalObserver[] = [];
  if (options.metrics) observers.push(new MetricsObserver(options.metrics === true ? {} : options.metrics, { broker, backend }));
  if (options.tracing) observers.push(new TracingObserver(options.tracing === true ? {} : options.tracing, messagingSystem(broker.kind)));
  observers.push(...(options.signals ?? []));
  return new TaskSignals(observers);
}
