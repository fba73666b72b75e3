/**
 * nestjs-celery: a NestJS microservice transport speaking the Celery protocol.
 * Public API, layer by layer (nest → engine → transport → protocol).
 */

// nest: module, decorators, server, client, typed contracts
export * from './nest/index.js';

// engine: the Celery app and worker, usable without Nest
export { Celery, type SendTaskOptions } from './engine/celery.js';
export { DEFAULT_QUEUE, type CeleryOptions, type TaskQueueOptions } from './engine/celery.options.js';
export { AsyncResult, type GetOptions, type ResultNode, type ResultTuple } from './engine/async-result.js';
// remote control (pidbox) and monitoring events
export { Control, Inspect, flattenReplies, type ControlTarget, type RevokeOptions, type BroadcastOptions, type NodeReplies } from './engine/control/control.js';
export { EventReceiver, type EventReceiverOptions, type EventHandler, type ReceivedEvent } from './engine/events/event-receiver.js';
export { EventDispatcher } from './engine/events/event-dispatcher.js';
export type { CeleryEvent } from './engine/events/event.js';

// canvas: signatures, chain, group, chord, map/starmap/chunks, GroupResult
export {
  Canvas,
  Signature,
  Chain,
  Group,
  Chord,
  XMap,
  Chunks,
  GroupResult,
  GroupMemberError,
  ChordsNotSupportedError,
  EmptyCanvasError,
  InvalidSignatureError,
  signature,
  s,
  si,
  chain,
  group,
  chord,
  xmap,
  xstarmap,
  chunks,
  signatureFromDict,
  resultFromTuple,
  type CanvasResult,
  type GroupMember,
  type GroupMemberOutcome,
  type SignatureOptions,
  type TaskRef,
} from './engine/canvas/index.js';
export { redactUrl, redactSecrets } from './common/redact-url.js';
export { UnsafePatternError } from './engine/control/matcher.js';
export {
  CeleryError,
  CeleryTimeoutError,
  NoResultBackendError,
  BrokerUnavailableError,
  PublishTimeoutError,
  DeclarationLimitError,
  InvalidTaskOptionsError,
  ImproperlyConfiguredError,
  QueueMismatchError,
} from './engine/errors.js';
export { connectionOptionsFromEnv, signalOptionsFromEnv, CeleryEnvError } from './engine/celery-env.js';
export { Worker, type WorkerOptions } from './engine/worker/worker.js';
// the TaskContext type is exported by nest/ beside the @TaskContext() decorator of the same name
export type { TaskHandler, TaskOptions } from './engine/worker/task-context.js';
export { exponentialBackoff, type RetryOptions, type AutoretryMatcher } from './engine/worker/retry.js';
export type { AckMode } from './engine/worker/ack-policy.js';
export type { UnknownTaskPolicyName } from './engine/worker/unknown-task.policy.js';

// protocol: failures as clients see them, Python exceptions handlers can throw, states
export { CeleryTaskError, JS_EXCEPTION_MODULE, type ExceptionInfo } from './protocol/exceptions.js';
export * from './protocol/python-errors.js';
export { Retry, Reject, Ignore } from './protocol/task-predicates.js';
export { ProtocolError, InvalidTaskError, DecodeError, ContentDisallowedError, MessageTooLargeError } from './protocol/errors.js';
export { States, READY_STATES, UNREADY_STATES, EXCEPTION_STATES, PROPAGATE_STATES, isReady, type TaskState } from './protocol/states.js';
export type { ResultMeta } from './protocol/result-meta.js';
export type { SignatureDict } from './protocol/signature.js';
export type { SerializerName, CompressionName } from './protocol/serialization.js';

// transport: the swappable broker and result backend layer
export type {
  Broker,
  Delivery,
  DeliveryInfo,
  ConsumeOptions,
  Consumer,
  PublishRoute,
  QueueDeclaration,
  ExchangeDeclaration,
  ExchangeType,
  QueueType,
  DelayedDelivery,
  DeclarationMismatch,
} from './transport/broker.interface.js';
export type { ResultBackend, StoreTarget } from './transport/result-backend.interface.js';
export type { ConnectionStatus } from './transport/connection-status.js';
export { createBroker, createResultBackend, UnsupportedUrlError, type TransportFactoryOptions } from './transport/factory.js';
export { MemoryBroker, MemoryVhost } from './transport/memory/memory.broker.js';
export { MemoryBackend } from './transport/memory/memory.backend.js';
export { AmqpBroker, type AmqpBrokerOptions } from './transport/amqp/amqp.broker.js';
export {
  AmqpBrokerError,
  AmqpConfigError,
  AmqpConnectionError,
  AmqpBrokerClosedError,
  AmqpDeclarationError,
  AmqpPublishError,
  UnroutableMessageError,
  AmqpHeaderError,
} from './transport/amqp/amqp-errors.js';
export { QueueInUseError } from './transport/broker.errors.js';
export { RedisBroker, RedisBrokerError, type RedisBrokerOptions } from './transport/redis/broker/redis.broker.js';
export { RedisBackend, type RedisBackendOptions } from './transport/redis/backend/redis.backend.js';
export { TlsConfigError, type SslOptions, type CertReqs } from './transport/tls-options.js';
export { TransportOptionsError, type BrokerTransportOptions, type ResultBackendTransportOptions } from './transport/transport-options.js';
export { ResultBackendError, BackendStoreError, BackendClosedError, ResultSubscribeError } from './transport/result-backend.errors.js';

// observing the task lifecycle (Celery's signals): metrics (prom-client), tracing (OpenTelemetry), your own
export type { TaskSignalObserver, PublishedTask, ReceivedTask, ObservedWorker, RevokedReason } from './engine/signals/task-signals.js';
export { SENT_AT_HEADER, type MetricsOptions } from './engine/signals/metrics.js';
export type { TracingOptions } from './engine/signals/tracing.js';
export type { SignalOptions } from './engine/signals/observers.js';
