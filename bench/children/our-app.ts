/** Our Celery app for the bench children, from broker and backend URLs (transport/factory.ts picks the transports). */
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';

export function createApp(broker: string, backend: string | null, options: { confirmPublish?: boolean; queueType?: 'classic' | 'quorum' } = {}): Celery {
  // a log line per task must not reach the figures: the app is silent, and its workers log at
  // 'warn' (no received/succeeded lines), as Python's bench worker at Celery's default level
  return new Celery({
    broker,
    backend,
    logger: silentLogger,
    logLevel: 'warn',
    resultExpires: 3600,
    confirmPublish: options.confirmPublish,
    // the bench's queues are the default queue or created on first use: both of this type
    taskDefaultQueueType: options.queueType,
    taskCreateMissingQueueType: options.queueType,
  });
}
