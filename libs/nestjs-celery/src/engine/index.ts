/**
 * `nestjs-celery/engine`: the plain-TypeScript Celery API, no Nest needed — the app, the worker, results,
 * canvas, remote control, events, errors, and the Broker/ResultBackend contracts a custom driver implements.
 */

// the app: send tasks, get results
export { Celery, type SendTaskOptions } from './celery.js';
export { DEFAULT_QUEUE, type CeleryOptions, type TaskQueueOptions } from './celery.options.js';
export type { TaskRoutes, TaskRoute, TaskRouteValue, TaskRouteMap, RouterFunction } from './task-routes.js';
export { AsyncResult, type GetOptions, type ResultNode, type ResultTuple } from './async-result.js';
export { connectionOptionsFromEnv, signalOptionsFromEnv, CeleryEnvError, type ConnectionEnvOptions, type SignalEnvOptions } from './celery-env.js';
// observing the task lifecycle (Celery's signals): metrics (prom-client), tracing (OpenTelemetry), your own
export type { TaskSignalObserver, PublishedTask, ReceivedTask, ObservedWorker, RevokedReason } from './signals/task-signals.js';
export { SENT_AT_HEADER, type MetricsOptions } from './signals/metrics.js';
export type { TracingOptions } from './signals/tracing.js';
export type { SignalOptions } from './signals/observers.js';
export type { CeleryLogger } from '../common/logger.js';
export { redactUrl, redactSecrets } from '../common/redact-url.js';

// the worker: run task handlers
export { Worker, type WorkerOptions } from './worker/worker.js';
export type { PoolEntry } from './worker/pool/process-pool.js';
export type { TaskContext, TaskHandler, TaskOptions } from './worker/task-context.js';
export { exponentialBackoff, type RetryOptions, type AutoretryMatcher } from './worker/retry.js';
export type { AckMode } from './worker/ack-policy.js';
export type { UnknownTaskPolicyName } from './worker/unknown-task.policy.js';
export { RateLimits, RateLimitError, parseRate, type RateLimitOptions } from './worker/rate-limit.js';
export * from './beat/index.js';

// remote control (pidbox) and monitoring events
export { Control, Inspect, flattenReplies, type ControlTarget, type RevokeOptions, type BroadcastOptions, type NodeReplies } from './control/control.js';
export { UnsafePatternError } from './control/matcher.js';
export { EventReceiver, type EventReceiverOptions, type EventHandler, type ReceivedEvent } from './events/event-receiver.js';
export { EventDispatcher } from './events/event-dispatcher.js';
export type { CeleryEvent } from './events/event.js';

// canvas: signatures, chain, group, chord, map/starmap/chunks, GroupResult
export * from './canvas/index.js';

// errors, failures as senders see them, task predicates, states and wire shapes (the root entry exports them too)
export * from './errors-and-states.js';

// transport: the contracts a broker or result backend implements, URL → driver, shared options and errors
export type {
  Broker,
  BrokerCapabilities,
  Delivery,
  DeliveryHandler,
  DeliveryInfo,
  ConsumeOptions,
  Consumer,
  PublishRoute,
  PublishTicket,
  QueueDeclaration,
  ExchangeDeclaration,
  ExchangeType,
  QueueType,
  DelayedDelivery,
  DeclarationMismatch,
  TransportMessage,
  MessageProperties,
} from '../transport/broker.interface.js';
export type { ResultBackend, ResultBackendCapabilities, NativeChordSupport, ChordPart, StoreTarget } from '../transport/result-backend.interface.js';
export type { ConnectionStatus } from '../transport/connection-status.js';
export {
  createBroker,
  createResultBackend,
  registerTransport,
  UnsupportedUrlError,
  type TransportFactoryOptions,
  type TransportFamily,
  type TransportModule,
} from '../transport/factory.js';
export { MissingDriverError, type DriverName } from '../transport/driver.errors.js';
export { QueueInUseError } from '../transport/broker.errors.js';
export { TlsConfigError, type SslOptions, type CertReqs } from '../transport/tls-options.js';
export {
  TransportOptionsError,
  type BrokerTransportOptions,
  type FailoverStrategy,
  type ResultBackendTransportOptions,
} from '../transport/transport-options.js';
export { ResultBackendError, BackendStoreError, BackendClosedError, ResultSubscribeError } from '../transport/result-backend.errors.js';
