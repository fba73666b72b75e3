import { connectionOptionsFromEnv, signalOptionsFromEnv, type CeleryModuleOptions } from 'nestjs-celery';
import { register } from 'prom-client';

/**
 * Celery settings from the environment, under the names Celery users already know:
 *   CELERY_BROKER_URL      amqp://… | redis://… | memory:// (default: embedded memory://)
 *   CELERY_RESULT_BACKEND  redis://… | rpc:// | memory:// (default: memory:// with the memory broker)
 *   CELERY_QUEUES          queues the worker consumes, comma-separated (default: celery)
 *   CELERY_CONCURRENCY     tasks run at once = prefetch (default 16)
 *   CELERY_AUTOSCALE       max,min: the pool follows the work between them (Celery's --autoscale; min defaults to 0);
 *                          AUTOSCALE_KEEPALIVE (seconds before it shrinks, default 30) is read by the library
 *   CELERY_HOSTNAME        the worker's node name (default nestjs@<hostname>), as `celery worker -n`
 *   CELERY_WORKER_SEND_TASK_EVENTS  task events for monitors such as Flower (default true here; false to turn off)
 *   CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP, CELERY_BROKER_CONNECTION_MAX_RETRIES,
 *   CELERY_BROKER_CONNECTION_TIMEOUT, CELERY_LOG_LEVEL, CELERY_LOG_FORMAT  startup retry and logs
 *   CELERY_BROKER_USE_SSL, CELERY_REDIS_BACKEND_USE_SSL, CELERY_BROKER_TRANSPORT_OPTIONS,
 *   CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS  TLS and transport options (see connectionOptionsFromEnv)
 *   CELERY_METRICS         Prometheus metrics, on unless false: in prom-client's default registry,
 *                          served at GET /metrics (api) and on METRICS_PORT (worker)
 *   CELERY_TRACING         OpenTelemetry spans (default off; the process registers an SDK first)
 */
export function celeryOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): CeleryModuleOptions {
  const queues = (env.CELERY_QUEUES ?? '')
    .split(',')
    .map((q) => q.trim())
    .filter(Boolean);
  const { tracing } = signalOptionsFromEnv(env);
  return {
    ...connectionOptionsFromEnv(env),
    ...(queues.length ? { taskDefaultQueue: queues[0] } : {}),
    // the registry this app serves, passed explicitly: the one the library would pick is the same
    // module, but a bundler or test runner may load prom-client twice
    metrics: metricsEnabled(env) ? { registry: register } : false,
    ...(tracing ? { tracing } : {}),
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
    ...(env.CELERY_AUTOSCALE?.trim() ? { autoscale: autoscaleFromEnv(env.CELERY_AUTOSCALE) } : {}),
    ...(env.CELERY_HOSTNAME ? { hostname: env.CELERY_HOSTNAME } : {}),
    // an operated worker is watched: task events on unless turned off (Celery's -E)
    sendTaskEvents: !/^(false|0|no|off)$/i.test(env.CELERY_WORKER_SEND_TASK_EVENTS?.trim() ?? ''),
  };
}

/** `max,min` as Celery's --autoscale reads it (min left out: 0); the worker refuses a bad range when it is built. */
function autoscaleFromEnv(value: string): [number, number] {
  const [max, min] = value.split(',').map((part) => part.trim());
  return [Number(max), min ? Number(min) : 0];
}

/** The example apps keep metrics on unless CELERY_METRICS is false. */
export const metricsEnabled = (env: NodeJS.ProcessEnv = process.env) => signalOptionsFromEnv(env).metrics !== false;

/** True when no broker is configured: worker and api share one process on memory://. */
export const isEmbedded = (env: NodeJS.ProcessEnv = process.env) => !env.CELERY_BROKER_URL || env.CELERY_BROKER_URL.startsWith('memory:');
