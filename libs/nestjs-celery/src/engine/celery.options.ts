import type { CeleryLogger } from '../common/logger.js';
import type { CompressionName, SerializerName } from '../protocol/serialization.js';
import type { Broker } from '../transport/broker.interface.js';
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
  /** accept_content, default ['json'] */
  acceptContent?: string[];
  /** result_expires in seconds, default 86400; null = never */
  resultExpires?: number | null;
  logger?: CeleryLogger;
}

export const DEFAULT_QUEUE = 'celery';
