// Picks the broker and result backend driver for a URL (amqp://, redis://, memory://, rpc://).
import { redactUrl } from '../common/redact-url.js';
import type { CeleryLogger } from '../common/logger.js';
import { AmqpBroker } from './amqp/index.js';
import type { Broker, PublishRoute, TransportMessage } from './broker.interface.js';
import { MemoryBackend } from './memory/index.js';
import { MemoryBroker } from './memory/index.js';
import { RedisBackend } from './redis/index.js';
import { RedisBroker } from './redis/index.js';
import type { SentinelOptions } from './redis/redis-url.js';
import { RpcBackend } from './rpc/index.js';
import type { ResultBackend } from './result-backend.interface.js';
import type { SslOptions } from './tls-options.js';
import {
  readBrokerTransportOptions,
  readResultBackendTransportOptions,
  type BrokerTransportOptions,
  type FailoverStrategy,
  type ResultBackendTransportOptions,
} from './transport-options.js';

/** Settings `createBroker` / `createResultBackend` pass on to the driver a URL picks. */
export interface TransportFactoryOptions {
  logger?: CeleryLogger;
  /** result_expires in seconds (null = never) */
  resultExpires?: number | null;
  /** AMQP: resolve publishes on the broker's confirm (default true); see AmqpBrokerOptions */
  confirmPublish?: boolean;
  /** AMQP: bounds on message headers (see AmqpBrokerOptions) */
  maxHeaderDepth?: number;
  maxHeaderValues?: number;
  /** AMQP: Celery's broker_failover_strategy for a list of URLs ('round-robin' default, 'shuffle') */
  brokerFailoverStrategy?: FailoverStrategy;
  /** Celery's broker_use_ssl */
  brokerUseSsl?: boolean | SslOptions;
  /** Celery's redis_backend_use_ssl */
  redisBackendUseSsl?: boolean | SslOptions;
  /** Celery's broker_transport_options */
  brokerTransportOptions?: BrokerTransportOptions;
  /** Celery's result_backend_transport_options */
  resultBackendTransportOptions?: ResultBackendTransportOptions;
  /** rpc://: how result replies are published (default the broker's publish) */
  publish?: (message: TransportMessage, route: PublishRoute) => Promise<void>;
}

/** Thrown for a URL no transport handles. */
export class UnsupportedUrlError extends Error {
  constructor(kind: 'broker' | 'result backend', url: string, supported: string) {
    super(`unsupported ${kind} URL "${redactUrl(url)}": use one of ${supported}`);
    this.name = 'UnsupportedUrlError';
  }
}

function scheme(url: string): string {
  return url.slice(0, url.indexOf(':')).toLowerCase();
}

/** The Sentinel part of broker_transport_options / result_backend_transport_options. */
function sentinelOptions(transport: BrokerTransportOptions | ResultBackendTransportOptions): SentinelOptions {
  return { masterName: transport.master_name, sentinelPassword: transport.sentinel_kwargs?.password, sentinelUsername: transport.sentinel_kwargs?.username };
}

/** A broker for a URL (or a failover list of URLs of one scheme). */
export function createBroker(url: string | string[], options: TransportFactoryOptions = {}): Broker {
  const urls = Array.isArray(url) ? url : url.split(/[;,]\s*/).filter(Boolean);
  const s = scheme(urls[0] ?? 'memory://');
  switch (s) {
    case 'memory':
      return new MemoryBroker(urls[0]);
    case 'amqp':
    case 'amqps':
    case 'pyamqp': {
      const transport = readBrokerTransportOptions(options.brokerTransportOptions, 'amqp');
      return new AmqpBroker(urls, {
        logger: options.logger,
        confirmPublish: options.confirmPublish ?? transport.confirm_publish,
        failoverStrategy: options.brokerFailoverStrategy,
        ssl: options.brokerUseSsl,
        maxHeaderDepth: options.maxHeaderDepth,
        maxHeaderValues: options.maxHeaderValues,
      });
    }
    case 'redis':
    case 'rediss':
    case 'sentinel': {
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
    }
    default:
      throw new UnsupportedUrlError('broker', urls[0], 'amqp://, amqps://, pyamqp://, redis://, rediss://, sentinel://, memory://');
  }
}

/** A result backend for a URL; `rpc://` rides on the app's broker. */
export function createResultBackend(url: string, broker: Broker, options: TransportFactoryOptions = {}): ResultBackend {
  switch (scheme(url)) {
    case 'memory':
      return new MemoryBackend(url);
    case 'redis':
    case 'rediss':
    case 'sentinel': {
      const transport = readResultBackendTransportOptions(options.resultBackendTransportOptions, 'redis');
      return new RedisBackend(url, {
        logger: options.logger,
        sentinel: sentinelOptions(transport),
        resultExpiresSeconds: options.resultExpires,
        ssl: options.redisBackendUseSsl,
        globalKeyprefix: transport.global_keyprefix,
      });
    }
    case 'rpc':
      readResultBackendTransportOptions(options.resultBackendTransportOptions, 'rpc'); // unknown keys are refused here too
      return new RpcBackend(broker, { logger: options.logger, resultExpiresSeconds: options.resultExpires, publish: options.publish });
    default:
      throw new UnsupportedUrlError('result backend', url, 'redis://, rediss://, sentinel://, rpc://, memory://');
  }
}
