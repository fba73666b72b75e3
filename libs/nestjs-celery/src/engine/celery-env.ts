/** Connection and logging settings from the environment, under Celery's setting names (CELERY_BROKER_URL …). */
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../common/log-settings.js';
import { FAILOVER_STRATEGIES, type FailoverStrategy } from '../transport/transport-options.js';
import { CeleryError } from './errors.js';
import type { CeleryOptions } from './celery.options.js';

/** An environment variable that cannot be read (not JSON, not true/false). */
export class CeleryEnvError extends CeleryError {}

/** What `signalOptionsFromEnv()` reads: metrics and tracing on or off. */
export type SignalEnvOptions = Pick<CeleryOptions, 'metrics' | 'tracing'>;

/** What `connectionOptionsFromEnv()` reads: the connection part of CeleryOptions. */
export type ConnectionEnvOptions = Pick<
  CeleryOptions,
  | 'broker'
  | 'backend'
  | 'brokerFailoverStrategy'
  | 'brokerUseSsl'
  | 'redisBackendUseSsl'
  | 'brokerTransportOptions'
  | 'resultBackendTransportOptions'
  | 'brokerConnectionRetryOnStartup'
  | 'brokerConnectionMaxRetries'
  | 'brokerConnectionTimeout'
  | 'logLevel'
  | 'logFormat'
>;

/** true/1/yes/on, false/0/no/off; undefined for anything else */
function asBool(raw: string): boolean | undefined {
  if (/^(true|1|yes|on)$/i.test(raw)) return true;
  if (/^(false|0|no|off)$/i.test(raw)) return false;
  return undefined;
}

function bool(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const value = asBool(raw);
  if (value === undefined) throw new CeleryEnvError(`${name} must be true or false, got ${raw.slice(0, 80)}`);
  return value;
}

function number(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new CeleryEnvError(`${name} must be a number ≥ 0, got ${raw.slice(0, 80)}`);
  return value;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[]): T | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return undefined;
  // Celery's level names too: WARNING, INFO …
  const value = (raw === 'warning' ? 'warn' : raw) as T;
  if (!values.includes(value)) throw new CeleryEnvError(`${name} must be one of ${values.join(', ')}, got ${raw.slice(0, 80)}`);
  return value;
}

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

function useSsl(env: NodeJS.ProcessEnv, name: string): boolean | Record<string, unknown> | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  return asBool(raw) ?? jsonObject(env, name);
}

/**
 * CELERY_BROKER_URL, CELERY_RESULT_BACKEND, CELERY_BROKER_USE_SSL and CELERY_REDIS_BACKEND_USE_SSL
 * (true, or a JSON object of TLS settings such as {"ssl_ca_certs": "/ca.pem", "ssl_cert_reqs":
 * "required"}), CELERY_BROKER_TRANSPORT_OPTIONS and CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS (JSON
 * objects), CELERY_BROKER_FAILOVER_STRATEGY (round-robin, shuffle). Startup retry: CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP (true/false),
 * CELERY_BROKER_CONNECTION_MAX_RETRIES (0 = forever), CELERY_BROKER_CONNECTION_TIMEOUT (seconds).
 * Logging: CELERY_LOG_LEVEL (debug, info, warning, error) and CELERY_LOG_FORMAT (text, json).
 * Unset variables are left out; the values are checked when the app is created.
 */
export function connectionOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ConnectionEnvOptions {
  const out: ConnectionEnvOptions = {};
  if (env.CELERY_BROKER_URL) out.broker = env.CELERY_BROKER_URL;
  if (env.CELERY_RESULT_BACKEND) out.backend = env.CELERY_RESULT_BACKEND;
  const failover = oneOf<FailoverStrategy>(env, 'CELERY_BROKER_FAILOVER_STRATEGY', FAILOVER_STRATEGIES);
  if (failover) out.brokerFailoverStrategy = failover;
  const brokerSsl = useSsl(env, 'CELERY_BROKER_USE_SSL');
  if (brokerSsl !== undefined) out.brokerUseSsl = brokerSsl;
  const backendSsl = useSsl(env, 'CELERY_REDIS_BACKEND_USE_SSL');
  if (backendSsl !== undefined) out.redisBackendUseSsl = backendSsl;
  const brokerTransport = jsonObject(env, 'CELERY_BROKER_TRANSPORT_OPTIONS');
  if (brokerTransport) out.brokerTransportOptions = brokerTransport;
  const backendTransport = jsonObject(env, 'CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS');
  if (backendTransport) out.resultBackendTransportOptions = backendTransport;
  const retryOnStartup = bool(env, 'CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP');
  if (retryOnStartup !== undefined) out.brokerConnectionRetryOnStartup = retryOnStartup;
  const maxRetries = number(env, 'CELERY_BROKER_CONNECTION_MAX_RETRIES');
  if (maxRetries !== undefined) out.brokerConnectionMaxRetries = maxRetries;
  const timeout = number(env, 'CELERY_BROKER_CONNECTION_TIMEOUT');
  if (timeout !== undefined) out.brokerConnectionTimeout = timeout;
  const level = oneOf<LogLevel>(env, 'CELERY_LOG_LEVEL', LOG_LEVELS);
  if (level) out.logLevel = level;
  const format = oneOf<LogFormat>(env, 'CELERY_LOG_FORMAT', LOG_FORMATS);
  if (format) out.logFormat = format;
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
    const on = asBool(env[name].trim());
    if (on === undefined) throw new CeleryEnvError(`${name} must be true or false, got ${env[name].slice(0, 80)}`);
    out[key] = on;
  }
  return out;
}
