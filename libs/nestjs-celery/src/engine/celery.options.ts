import type { CeleryLogger } from '../common/logger.js';
import type { CompressionName, SerializerName } from '../protocol/serialization.js';
import type { Broker, ExchangeType, QueueType } from '../transport/broker.interface.js';
import type { ResultBackend } from '../transport/result-backend.interface.js';

/** App-wide settings, named after Celery's (`task_default_queue` → taskDefaultQueue …). */
export interface CeleryOptions {
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
  /** a publish not confirmed by the broker within this fails with PublishTimeoutError (default 30 s) */
  publishTimeoutMs?: number;
  /**
   * RabbitMQ: sendTask resolves on the broker's publisher confirm (default true). false is
   * Celery's own default (`broker_transport_options={'confirm_publish': False}`): sendTask
   * resolves once the message is written to the connection (about 1.5× the publish rate on a
   * 2-core machine), and a message RabbitMQ then nacks or a connection loss drops is logged, not
   * reported to the sender. The Redis broker's LPUSH reply is its confirm either way.
   */
  confirmPublish?: boolean;
}

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
