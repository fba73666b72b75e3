/** Connection settings from the environment, under Celery's setting names (CELERY_BROKER_URL …). */
import { CeleryError } from './errors.js';
import type { CeleryOptions } from './celery.options.js';

/** An environment variable that cannot be read (not JSON, not true/false). */
export class CeleryEnvError extends CeleryError {}

type SignalEnvOptions = Pick<CeleryOptions, 'metrics' | 'tracing'>;

type ConnectionEnvOptions = Pick<
  CeleryOptions,
  'broker' | 'backend' | 'brokerUseSsl' | 'redisBackendUseSsl' | 'brokerTransportOptions' | 'resultBackendTransportOptions'
>;

function jsonObject(env: NodeJS.ProcessEnv, name: string): Record<string, unknown> | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new CeleryEnvError(`${name} is not JSON; set it to an object such as {"visibility_timeout": 7200}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CeleryEnvError(`${name} must be a JSON object, got ${raw.slice(0, 80)}`);
  return value as Record<string, unknown>;
}

/** true/1/yes or false/0/no; undefined when unset or neither. */
function flag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name]?.trim() ?? '';
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  return undefined;
}

function useSsl(env: NodeJS.ProcessEnv, name: string): boolean | Record<string, unknown> | undefined {
  if (!env[name]?.trim()) return undefined;
  return flag(env, name) ?? jsonObject(env, name);
}

/**
 * CELERY_BROKER_URL, CELERY_RESULT_BACKEND, CELERY_BROKER_USE_SSL and CELERY_REDIS_BACKEND_USE_SSL
 * (true, or a JSON object of TLS settings such as {"ssl_ca_certs": "/ca.pem", "ssl_cert_reqs":
 * "required"}), CELERY_BROKER_TRANSPORT_OPTIONS and CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS (JSON
 * objects). Unset variables are left out; the values are checked when the app is created.
 */
export function connectionOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ConnectionEnvOptions {
  const out: ConnectionEnvOptions = {};
  if (env.CELERY_BROKER_URL) out.broker = env.CELERY_BROKER_URL;
  if (env.CELERY_RESULT_BACKEND) out.backend = env.CELERY_RESULT_BACKEND;
  const brokerSsl = useSsl(env, 'CELERY_BROKER_USE_SSL');
  if (brokerSsl !== undefined) out.brokerUseSsl = brokerSsl;
  const backendSsl = useSsl(env, 'CELERY_REDIS_BACKEND_USE_SSL');
  if (backendSsl !== undefined) out.redisBackendUseSsl = backendSsl;
  const brokerTransport = jsonObject(env, 'CELERY_BROKER_TRANSPORT_OPTIONS');
  if (brokerTransport) out.brokerTransportOptions = brokerTransport;
  const backendTransport = jsonObject(env, 'CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS');
  if (backendTransport) out.resultBackendTransportOptions = backendTransport;
  return out;
}

/**
 * CELERY_METRICS=true: Prometheus metrics in prom-client's default registry; CELERY_TRACING=true:
 * OpenTelemetry spans through the globally registered tracer provider; false/0/no: off (given as
 * false, so an app's own default can tell "off" from unset).
 */
export function signalOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SignalEnvOptions {
  const out: SignalEnvOptions = {};
  for (const [name, key] of [
    ['CELERY_METRICS', 'metrics'],
    ['CELERY_TRACING', 'tracing'],
  ] as const) {
    if (!env[name]?.trim()) continue;
    const on = flag(env, name);
    if (on === undefined) throw new CeleryEnvError(`${name} must be true or false, got ${env[name].slice(0, 80)}`);
    out[key] = on;
  }
  return out;
}
