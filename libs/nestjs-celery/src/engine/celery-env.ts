/** Connection settings from the environment, under Celery's setting names (CELERY_BROKER_URL …). */
import { CeleryError } from './errors.js';
import type { CeleryOptions } from './celery.options.js';

/** An environment variable that cannot be read (not JSON, not true/false). */
export class CeleryEnvError extends CeleryError {}

/** What `connectionOptionsFromEnv()` reads: the connection part of CeleryOptions. */
export type ConnectionEnvOptions = Pick<
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

function useSsl(env: NodeJS.ProcessEnv, name: string): boolean | Record<string, unknown> | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  return jsonObject(env, name);
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
