// CeleryOptions: what a Celery app is configured with (broker/backend URLs, queues, routing, serializers…),
// named after Celery's own settings, and the default queue.
import type { CeleryLogger } from '../common/logger.js';
import type { LogFormat, LogLevel } from '../common/log-settings.js';
import type { CompressionName, SerializerName } from '../protocol/serialization.js';
import type { Broker, ExchangeType, QueueType } from '../transport/broker.interface.js';
import type { ResultBackend } from '../transport/result-backend.interface.js';
import type { SslOptions } from '../transport/tls-options.js';
import type { TaskRoutes } from './task-routes.js';
import type { BrokerTransportOptions, FailoverStrategy, ResultBackendTransportOptions } from '../transport/transport-options.js';
import type { SignalOptions } from './signals/observers.js';

/**
 * App-wide settings, named after Celery's (`task_default_queue` → taskDefaultQueue …), and the
 * observers of its tasks' lifecycle (`metrics`, `tracing`, `signals`), for its client and workers.
 */
export interface CeleryOptions extends SignalOptions {
  /** A Broker or a URL: amqp://, amqps://, redis://, rediss://, memory:// (default memory://) */
  broker?: Broker | string | string[];
  /** A ResultBackend or a URL: redis://, rpc://, memory://; null/undefined = no results */
  backend?: ResultBackend | string | null;
  /** task_default_queue, default 'celery' */
  taskDefaultQueue?: string;
  /** task_serializer, default 'json' */
  taskSerializer?: SerializerName;
  /** task_compression, default none */
  taskCompression?: CompressionName;
  /** task_queue_max_priority: declares every queue with x-max-priority */
  taskQueueMaxPriority?: number;
  /** task_default_queue_type: 'classic' (default) or 'quorum' (x-queue-type) for the default queue */
  taskDefaultQueueType?: QueueType;
  /** task_default_exchange_type: the default queue's exchange type, default 'direct' */
  taskDefaultExchangeType?: ExchangeType;
  /** task_create_missing_queue_type: queues not configured anywhere else, default 'classic' */
  taskCreateMissingQueueType?: QueueType;
  /** task_create_missing_queue_exchange_type: their exchange type, default 'direct' (kombu's) */
  taskCreateMissingQueueExchangeType?: ExchangeType;
  /**
   * task_routes: where a task goes when its send names no queue (a map of task names and globs to
   * queues or routes, a router function, or a list of them tried in order). A send's own options,
   * and a task contract's defaults, win over a route; a route wins over taskDefaultQueue.
   */
  taskRoutes?: TaskRoutes;
  /** task_queues: per-queue declarations, overriding the defaults above for that queue */
  taskQueues?: Record<string, TaskQueueOptions>;
  /**
   * 'declare' (default): declare queues as Celery would for these settings. 'passive': use the
   * queues as they exist (kombu's no_declare on every queue), for a fleet whose queues someone
   * else declares; only a missing queue is an error.
   */
  taskQueueDeclaration?: 'declare' | 'passive';
  /**
   * worker_detect_quorum_queues (default true): with a quorum queue among the app's queues,
   * countdown/ETA tasks to non-direct exchanges travel through native delayed delivery and
   * workers declare and bind its topology, as Celery 5.5+.
   */
  workerDetectQuorumQueues?: boolean;
  /** broker_native_delayed_delivery_queue_type: the celery_delayed_* queues' type, default 'quorum' */
  brokerNativeDelayedDeliveryQueueType?: QueueType;
  /**
   * control_queue_exclusive (default true, as Celery since its RabbitMQ 4.3 fix) and
   * control_queue_durable (default false): the remote-control (pidbox) node and reply queues.
   * Both true is a configuration error.
   */
  controlQueueExclusive?: boolean;
  controlQueueDurable?: boolean;
  /** event_queue_exclusive (default true) and event_queue_durable (default false): event receivers' queues */
  eventQueueExclusive?: boolean;
  eventQueueDurable?: boolean;
  /** accept_content, default ['json'] */
  acceptContent?: string[];
  /** result_expires in seconds, default 86400; null = never */
  resultExpires?: number | null;
  logger?: CeleryLogger;
  /**
   * Publishing while the broker connection is down: 'buffer' (default) holds publishes until
   * it is back, at most `publishBufferLimit` of them; 'fail' rejects at once with
   * BrokerUnavailableError.
   */
  publishWhileDisconnected?: 'buffer' | 'fail';
  /** publishes held during an outage before new ones fail with BrokerUnavailableError (default 1000) */
  publishBufferLimit?: number;
  /**
   * Publishes awaiting the broker's confirm (written or held), in every state: connected,
   * blocked (RabbitMQ memory/disk alarm) or disconnected. Over it a publish fails at once with
   * PublishBackpressureError and is not sent. Default 10,000.
   */
  maxPendingPublishes?: number;
  /**
   * a publish not confirmed by the broker within this fails with PublishTimeoutError (default
   * 30 s); one still held then is dropped, never sent later
   */
  publishTimeoutMs?: number;
  /**
   * RabbitMQ: sendTask resolves on the broker's publisher confirm (default true). false is
   * Celery's own default (`broker_transport_options={'confirm_publish': False}`): sendTask
   * resolves once the message is written to the connection (about 1.5× the publish rate on a
   * 2-core machine), and a message RabbitMQ then nacks or a connection loss drops is logged, not
   * reported to the sender. The Redis broker's LPUSH reply is its confirm either way.
   */
  confirmPublish?: boolean;
  /**
   * RabbitMQ: a message whose headers nest tables/arrays deeper than this is refused (rejected,
   * FAILURE stored when its id is readable; the connection stays up). Default 32.
   */
  maxHeaderDepth?: number;
  /** RabbitMQ: a message whose headers hold more values than this is refused likewise. Default 10,000. */
  maxHeaderValues?: number;
  /**
   * Distinct queues this app declares at most (Celery declares the queue of every send, and
   * canvas steps name theirs in the message). One more fails its send with
   * DeclarationLimitError. Default 1,000.
   */
  maxDeclaredQueues?: number;
  /** every line the app and its transports log is cut at this many characters (default 8192) */
  maxLogLineLength?: number;
  /** lowest level logged by the app and its workers: 'debug', 'info' (default), 'warn', 'error' */
  logLevel?: LogLevel;
  /**
   * 'text' (default): lines go to `logger` (Nest's Logger in the Nest layer, console otherwise).
   * 'json': with no `logger` given, one JSON object per line on stdout ({time, level, context,
   * message}); a given logger (nestjs-pino …) keeps its own format.
   */
  logFormat?: LogFormat;
  /**
   * Celery's broker_connection_retry_on_startup (default true): connect() retries the broker
   * and the result backend with kombu's backoff (2 s, 4 s, 6 s … up to 30 s), one warning per
   * attempt, instead of failing at the first refusal.
   */
  brokerConnectionRetryOnStartup?: boolean;
  /** Celery's broker_connection_max_retries: retries before connect() gives up (default 100; 0 = forever) */
  brokerConnectionMaxRetries?: number;
  /** Celery's broker_connection_timeout: seconds one connection attempt may take (default 4) */
  brokerConnectionTimeout?: number;
  /**
   * Celery's broker_failover_strategy, for a `;`-separated list of RabbitMQ URLs (a cluster's
   * nodes): 'round-robin' (default) reconnects to the node after the one that was lost,
   * 'shuffle' to a random one.
   */
  brokerFailoverStrategy?: FailoverStrategy;
  /**
   * Celery's broker_use_ssl, for a broker given as a URL: true, or TLS settings (caCerts,
   * certfile, keyfile, certReqs, serverHostname …; Celery's ssl_* / py-amqp spellings too). Turns
   * TLS on even for amqp:// and redis:// (as in Celery); the URL's own `ssl_*` query keys win.
   */
  brokerUseSsl?: boolean | SslOptions;
  /** Celery's redis_backend_use_ssl, for a redis:// or rediss:// result backend URL */
  redisBackendUseSsl?: boolean | SslOptions;
  /** Celery's broker_transport_options: visibility_timeout, global_keyprefix (Redis), confirm_publish (RabbitMQ) */
  brokerTransportOptions?: BrokerTransportOptions;
  /** Celery's result_backend_transport_options: global_keyprefix (Redis backend) */
  resultBackendTransportOptions?: ResultBackendTransportOptions;
}

/** Celery's `task_default_queue` default: where tasks go and workers consume unless told otherwise. */
export const DEFAULT_QUEUE = 'celery';

/** One entry of task_queues (kombu `Queue(name, Exchange(exchange, type), routing_key, …)`). */
export interface TaskQueueOptions {
  /** default: the queue's name */
  exchange?: string;
  /** default: taskDefaultExchangeType */
  exchangeType?: ExchangeType;
  /** binding key, default: the queue's name */
  routingKey?: string;
  /** x-queue-type; default classic (no argument, as kombu) */
  queueType?: QueueType;
  /** default true (quorum queues are always durable) */
  durable?: boolean;
  autoDelete?: boolean;
  /** more queue arguments (x-max-priority, x-message-ttl …) */
  arguments?: Record<string, unknown>;
  /** kombu's no_declare: use the queue as it exists */
  noDeclare?: boolean;
}
