// The registry of transport families (amqp, redis, memory, rpc, and any registered one): a URL's scheme picks
// its family, whose module is imported only when a broker or backend of that family first connects.
import { redactUrl } from '../common/redact-url.js';
import type { Broker } from './broker.interface.js';
import { LazyBroker, LazyResultBackend } from './lazy-transport.js';
import type { SentinelOptions } from './redis/redis-url.js';
import type { ResultBackend } from './result-backend.interface.js';
import { getProcessOid, newOid } from './result-backend.oid.js';
import type { TransportFactoryOptions, TransportFamily } from './transport-family.js';
import {
  readBrokerTransportOptions,
  readResultBackendTransportOptions,
  type BrokerTransportOptions,
  type ResultBackendTransportOptions,
} from './transport-options.js';

export type { TransportFactoryOptions, TransportFamily, TransportModule } from './transport-family.js';

/** Thrown for a URL no transport handles. */
export class UnsupportedUrlError extends Error {
  constructor(kind: 'broker' | 'result backend', url: string, supported: string) {
    super(`unsupported ${kind} URL "${redactUrl(url)}": use one of ${supported}`);
    this.name = 'UnsupportedUrlError';
  }
}

const families: TransportFamily[] = [];

/**
 * Add a transport family: URLs of its schemes then build its broker / result backend, with no engine change. A
 * scheme registered again is served by the family registered last (a test may stand in for a built-in one).
 */
export function registerTransport(family: TransportFamily): void {
  if (family.brokerSchemes?.length && !family.brokerCapabilities)
    throw new TypeError(`transport family "${family.name}": brokerSchemes need brokerCapabilities`);
  if (family.backendSchemes?.length && !family.backendCapabilities)
    throw new TypeError(`transport family "${family.name}": backendSchemes need backendCapabilities`);
  families.unshift(family);
}

function scheme(url: string): string {
  return url.slice(0, url.indexOf(':')).toLowerCase();
}

function familyFor(role: 'brokerSchemes' | 'backendSchemes', url: string): TransportFamily | undefined {
  const s = scheme(url);
  return families.find((f) => f[role]?.includes(s));
}

/** 'amqp://, amqps://, …' in registration order (built-ins first), for the error of an unknown scheme. */
function supported(role: 'brokerSchemes' | 'backendSchemes'): string {
  const schemes = [...families].reverse().flatMap((f) => f[role] ?? []);
  return [...new Set(schemes)].map((s) => `${s}://`).join(', ');
}

/**
 * A broker for a URL (or a failover list of URLs of one scheme). The scheme is checked now; the family's module
 * loads, and its driver is built, on the broker's first `connect()` (its settings are checked then too).
 */
export function createBroker(url: string | string[], options: TransportFactoryOptions = {}): Broker {
  const urls = Array.isArray(url) ? url : url.split(/[;,]\s*/).filter(Boolean);
  const first = urls[0] ?? 'memory://';
  const family = familyFor('brokerSchemes', first);
  if (!family) throw new UnsupportedUrlError('broker', first, supported('brokerSchemes'));
  return new LazyBroker(family, async () => {
    const create = (await family.load()).createBroker;
    if (!create) throw new TypeError(`transport family "${family.name}" has no createBroker`);
    return create(urls.length ? urls : [first], options);
  });
}

/** A result backend for a URL (`rpc://` rides on the app's broker); loads its family on `connect()` as createBroker. */
export function createResultBackend(url: string, broker: Broker, options: TransportFactoryOptions = {}): ResultBackend {
  const family = familyFor('backendSchemes', url);
  if (!family) throw new UnsupportedUrlError('result backend', url, supported('backendSchemes'));
  const oid = (family.backendOid ?? getProcessOid)();
  return new LazyResultBackend(family, oid, async () => {
    const create = (await family.load()).createResultBackend;
    if (!create) throw new TypeError(`transport family "${family.name}" has no createResultBackend`);
    return create(url, broker, { ...options, oid });
  });
}

/** The Sentinel part of broker_transport_options / result_backend_transport_options. */
function sentinelOptions(transport: BrokerTransportOptions | ResultBackendTransportOptions): SentinelOptions {
  return { masterName: transport.master_name, sentinelPassword: transport.sentinel_kwargs?.password, sentinelUsername: transport.sentinel_kwargs?.username };
}

// The built-in families. Capabilities are the drivers' own (each driver class declares the same object; the lazy
// broker / backend refuses, on load, a driver that disagrees).
registerTransport({
  name: 'amqp',
  brokerSchemes: ['amqp', 'amqps', 'pyamqp'],
  brokerCapabilities: { topicExchanges: true, consumerTimeout: true, disablePrefetch: false, priorities: 'higher-first' },
  load: async () => {
    const { AmqpBroker } = await import('./amqp/index.js');
    return {
      createBroker: (urls, options) => {
        const transport = readBrokerTransportOptions(options.brokerTransportOptions, 'amqp');
        return new AmqpBroker(urls, {
          logger: options.logger,
          confirmPublish: options.confirmPublish ?? transport.confirm_publish,
          failoverStrategy: options.brokerFailoverStrategy,
          ssl: options.brokerUseSsl,
          maxHeaderDepth: options.maxHeaderDepth,
          maxHeaderValues: options.maxHeaderValues,
        });
      },
    };
  },
});

registerTransport({
  name: 'redis',
  brokerSchemes: ['redis', 'rediss', 'sentinel'],
  backendSchemes: ['redis', 'rediss', 'sentinel'],
  brokerCapabilities: { topicExchanges: false, consumerTimeout: false, disablePrefetch: true, priorities: 'lower-first' },
  backendCapabilities: { chords: true },
  nativeChords: true,
  load: async () => {
    const { RedisBroker, RedisBackend } = await import('./redis/index.js');
    return {
      createBroker: (urls, options) => {
        const transport = readBrokerTransportOptions(options.brokerTransportOptions, 'redis');
        return new RedisBroker(urls, {
          logger: options.logger,
          sentinel: sentinelOptions(transport),
          ssl: options.brokerUseSsl,
          visibilityTimeoutSeconds: transport.visibility_timeout,
          globalKeyprefix: transport.global_keyprefix,
          maxHeaderDepth: options.maxHeaderDepth,
          maxHeaderValues: options.maxHeaderValues,
        });
      },
      createResultBackend: (url, _broker, options) => {
        const transport = readResultBackendTransportOptions(options.resultBackendTransportOptions, 'redis');
        return new RedisBackend(url, {
          logger: options.logger,
          sentinel: sentinelOptions(transport),
          resultExpiresSeconds: options.resultExpires,
          ssl: options.redisBackendUseSsl,
          globalKeyprefix: transport.global_keyprefix,
        });
      },
    };
  },
});

registerTransport({
  name: 'rpc',
  backendSchemes: ['rpc'],
  backendCapabilities: { chords: false },
  backendOid: newOid, // its reply queue's name: two RPC backends in one process must not share one
  load: async () => {
    const { RpcBackend } = await import('./rpc/index.js');
    return {
      createResultBackend: (_url, broker, options) => {
        readResultBackendTransportOptions(options.resultBackendTransportOptions, 'rpc'); // unknown keys are refused here too
        return new RpcBackend(broker, { logger: options.logger, resultExpiresSeconds: options.resultExpires, publish: options.publish, oid: options.oid });
      },
    };
  },
});

registerTransport({
  name: 'memory',
  brokerSchemes: ['memory'],
  backendSchemes: ['memory'],
  brokerCapabilities: { topicExchanges: true, consumerTimeout: false, disablePrefetch: false, priorities: 'higher-first' },
  backendCapabilities: { chords: true },
  load: async () => {
    const { MemoryBroker, MemoryBackend } = await import('./memory/index.js');
    return { createBroker: (urls) => new MemoryBroker(urls[0]), createResultBackend: (url) => new MemoryBackend(url) };
  },
});
