/**
 * Celery's `broker_transport_options` and `result_backend_transport_options`: the keys this
 * library honours, in Celery's snake_case (camelCase accepted), checked so a key we would
 * silently ignore is an error instead.
 */

/**
 * Celery's broker_failover_strategy, kombu's names: 'round-robin' (default) moves on from the
 * node that was lost to the next one in the list, wrapping round; 'shuffle' tries the nodes in a
 * random order each round.
 */
export type FailoverStrategy = 'round-robin' | 'shuffle';

export const FAILOVER_STRATEGIES: readonly FailoverStrategy[] = ['round-robin', 'shuffle'];

/** Celery's broker_transport_options (kombu's transport options). */
export interface BrokerTransportOptions {
  /** Redis: seconds before an unacknowledged message is restored to its queue (kombu default 3600) */
  visibility_timeout?: number;
  /** Redis: prefix of every key and channel, as kombu's (Python peers must use the same) */
  global_keyprefix?: string;
  /** RabbitMQ: resolve a publish on the broker's confirm (default true here; Celery's default is false) */
  confirm_publish?: boolean;
  /** Redis Sentinel (sentinel:// URLs): the name of the master the sentinels monitor */
  master_name?: string;
  /** Redis Sentinel: the sentinels' own credentials, `{ password, username }` */
  sentinel_kwargs?: SentinelKwargs;
}

/** kombu's and Celery's `sentinel_kwargs`: how to authenticate to the sentinels themselves. */
export interface SentinelKwargs {
  password?: string;
  username?: string;
}

/** Celery's result_backend_transport_options. */
export interface ResultBackendTransportOptions {
  /** Redis backend (Celery ≥ 5.3): prefix of the result, group and chord keys */
  global_keyprefix?: string;
  /** Redis Sentinel backend (sentinel:// URL): the name of the master the sentinels monitor */
  master_name?: string;
  /** Redis Sentinel backend: the sentinels' own credentials, `{ password, username }` */
  sentinel_kwargs?: SentinelKwargs;
}

/** A transport option that is unknown or has a value of the wrong kind. */
export class TransportOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransportOptionsError';
  }
}

type Kind = 'number' | 'string' | 'boolean' | 'credentials';

const BROKER_KEYS: Record<keyof BrokerTransportOptions, { kind: Kind; transports: string[] }> = {
  visibility_timeout: { kind: 'number', transports: ['redis'] },
  global_keyprefix: { kind: 'string', transports: ['redis'] },
  confirm_publish: { kind: 'boolean', transports: ['amqp'] },
  master_name: { kind: 'string', transports: ['redis'] },
  sentinel_kwargs: { kind: 'credentials', transports: ['redis'] },
};

const BACKEND_KEYS: Record<keyof ResultBackendTransportOptions, { kind: Kind; transports: string[] }> = {
  global_keyprefix: { kind: 'string', transports: ['redis'] },
  master_name: { kind: 'string', transports: ['redis'] },
  sentinel_kwargs: { kind: 'credentials', transports: ['redis'] },
};

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function coerce(key: string, value: unknown, kind: Kind, setting: string): unknown {
  if (kind === 'number') {
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof n === 'number' && Number.isFinite(n) && n > 0) return n;
    throw new TransportOptionsError(`${setting}.${key} must be a positive number of seconds, got ${JSON.stringify(value)}`);
  }
  if (kind === 'boolean') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'True' || value === '1') return true;
    if (value === 'false' || value === 'False' || value === '0') return false;
    throw new TransportOptionsError(`${setting}.${key} must be true or false, got ${JSON.stringify(value)}`);
  }
  if (kind === 'credentials') {
    const ok = typeof value === 'object' && value !== null && !Array.isArray(value);
    const entries = ok ? Object.entries(value) : [];
    if (ok && entries.every(([k, v]) => ['password', 'username'].includes(k) && typeof v === 'string')) return value;
    throw new TransportOptionsError(
      `${setting}.${key} must be an object of strings { password, username }, got ${ok ? `keys ${Object.keys(value).join(', ')}` : typeof value}`,
    );
  }
  if (typeof value === 'string') return value;
  throw new TransportOptionsError(`${setting}.${key} must be a string, got ${JSON.stringify(value)}`);
}

function read<T>(input: object | undefined, known: Record<string, { kind: Kind; transports: string[] }>, transport: string, setting: string): T {
  const out: Record<string, unknown> = {};
  if (input === undefined) return out as T;
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new TransportOptionsError(`${setting} must be an object such as { visibility_timeout: 7200 }`);
  for (const [given, value] of Object.entries(input)) {
    const key = snake(given);
    const spec = known[key];
    if (!spec) throw new TransportOptionsError(`unknown ${setting} key "${given}"; supported: ${Object.keys(known).join(', ')}`);
    // a key of the other transport is Celery's behaviour too: one config serves either broker
    if (value === undefined || !spec.transports.includes(transport)) continue;
    out[key] = coerce(given, value, spec.kind, setting);
  }
  return out as T;
}

/** The broker_transport_options that apply to `transport` ('amqp' | 'redis'), checked. */
export function readBrokerTransportOptions(input: object | undefined, transport: string): BrokerTransportOptions {
  return read<BrokerTransportOptions>(input, BROKER_KEYS, transport, 'broker_transport_options');
}

/** The result_backend_transport_options that apply to `backend` ('redis' | 'rpc' | …), checked. */
export function readResultBackendTransportOptions(input: object | undefined, backend: string): ResultBackendTransportOptions {
  return read<ResultBackendTransportOptions>(input, BACKEND_KEYS, backend, 'result_backend_transport_options');
}
