/**
 * nestjs-celery: a NestJS microservice transport speaking the Celery protocol. The root entry holds what a Nest app
 * uses; `nestjs-celery/engine` the plain-TS API, `nestjs-celery/{amqp,redis,memory,rpc}` the driver classes.
 */

// nest: module, decorators, server, client, typed contracts, health
export * from './nest/index.js';

// the engine objects a Nest app meets: CeleryClient.unwrap() is the Celery app, CeleryServer.unwrap() the Worker,
// sendTask and apply give AsyncResults; the engine's option types are the module's
export { Celery, type SendTaskOptions } from './engine/celery.js';
export type { CeleryOptions, TaskQueueOptions } from './engine/celery.options.js';
export type { TaskRoutes, TaskRoute, TaskRouteValue, TaskRouteMap, RouterFunction } from './engine/task-routes.js';
export { AsyncResult, type GetOptions, type ResultNode, type ResultTuple } from './engine/async-result.js';
export { connectionOptionsFromEnv, signalOptionsFromEnv, CeleryEnvError, type ConnectionEnvOptions, type SignalEnvOptions } from './engine/celery-env.js';
export { Worker, type WorkerOptions } from './engine/worker/worker.js';
export * from './engine/beat/index.js';
export type { PoolEntry } from './engine/worker/pool/process-pool.js';
// the TaskContext type is exported by nest/ beside the @TaskContext() decorator of the same name
export type { TaskHandler, TaskOptions } from './engine/worker/task-context.js';
export { exponentialBackoff, type RetryOptions, type AutoretryMatcher } from './engine/worker/retry.js';
export type { AckMode } from './engine/worker/ack-policy.js';
export type { UnknownTaskPolicyName } from './engine/worker/unknown-task.policy.js';
export type { Control, Inspect, ControlTarget, RevokeOptions, BroadcastOptions, NodeReplies } from './engine/control/control.js';
export type { CeleryLogger } from './common/logger.js';
export { redactUrl, redactSecrets } from './common/redact-url.js';

// canvas: signatures, chain, group, chord, map/starmap/chunks, GroupResult
export * from './engine/canvas/index.js';

// errors: what sending, running and connecting raise; Python exceptions handlers can throw; task predicates;
// states and the wire shapes results and signatures take
export * from './engine/errors-and-states.js';
export { UnsupportedUrlError } from './transport/factory.js';
export { MissingDriverError } from './transport/driver.errors.js';
export { QueueInUseError } from './transport/broker.errors.js';
export { TlsConfigError, type SslOptions, type CertReqs } from './transport/tls-options.js';
export {
  TransportOptionsError,
  type BrokerTransportOptions,
  type FailoverStrategy,
  type ResultBackendTransportOptions,
} from './transport/transport-options.js';
export { ResultBackendError, BackendStoreError, BackendClosedError, ResultSubscribeError } from './transport/result-backend.errors.js';

// the broker and backend a module option may be given as an instance (drivers: nestjs-celery/{amqp,redis,memory,rpc})
export type { Broker } from './transport/broker.interface.js';
export type { ResultBackend } from './transport/result-backend.interface.js';
export type { ConnectionStatus } from './transport/connection-status.js';

// observing the task lifecycle (Celery's signals): metrics (prom-client), tracing (OpenTelemetry), your own
export type { TaskSignalObserver, PublishedTask, ReceivedTask, ObservedWorker, RevokedReason } from './engine/signals/task-signals.js';
export { SENT_AT_HEADER, type MetricsOptions } from './engine/signals/metrics.js';
export type { TracingOptions } from './engine/signals/tracing.js';
export type { SignalOptions } from './engine/signals/observers.js';
