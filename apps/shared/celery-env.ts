import { connectionOptionsFromEnv, type CeleryModuleOptions } from 'nestjs-celery';

/**
 * Celery settings from the environment, under the names Celery users already know:
 *   CELERY_BROKER_URL      amqp://… | redis://… | memory:// (default: embedded memory://)
 *   CELERY_RESULT_BACKEND  redis://… | rpc:// | memory:// (default: memory:// with the memory broker)
 *   CELERY_QUEUES          queues the worker consumes, comma-separated (default: celery)
 *   CELERY_CONCURRENCY     tasks run at once = prefetch (default 16)
 *   CELERY_BROKER_USE_SSL, CELERY_REDIS_BACKEND_USE_SSL, CELERY_BROKER_TRANSPORT_OPTIONS,
 *   CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS  TLS and transport options (see connectionOptionsFromEnv)
 */
export function celeryOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): CeleryModuleOptions {
  const queues = (env.CELERY_QUEUES ?? '')
    .split(',')
    .map((q) => q.trim())
    .filter(Boolean);
  return {
    ...connectionOptionsFromEnv(env),
    ...(queues.length ? { taskDefaultQueue: queues[0] } : {}),
  };
}

export function workerOptionsFromEnv(env: NodeJS.ProcessEnv = process.env) {
  const queues = (env.CELERY_QUEUES ?? '')
    .split(',')
    .map((q) => q.trim())
    .filter(Boolean);
  return {
    ...(queues.length ? { queues } : {}),
    concurrency: Number(env.CELERY_CONCURRENCY ?? 16),
  };
}

/** True when no broker is configured: worker and api share one process on memory://. */
export const isEmbedded = (env: NodeJS.ProcessEnv = process.env) => !env.CELERY_BROKER_URL || env.CELERY_BROKER_URL.startsWith('memory:');
