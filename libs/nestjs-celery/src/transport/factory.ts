import { redactUrl } from '../common/redact-url.js';
import type { CeleryLogger } from '../common/logger.js';
import { AmqpBroker } from './amqp.broker.js';
import type { Broker } from './broker.interface.js';
import { MemoryBackend } from './memory.backend.js';
import { MemoryBroker } from './memory.broker.js';
import { RedisBackend } from './redis.backend.js';
import { RedisBroker } from './redis.broker.js';
import { RpcBackend } from './rpc.backend.js';
import type { ResultBackend } from './result-backend.interface.js';

export interface TransportFactoryOptions {
  logger?: CeleryLogger;
  /** result_expires in seconds (null = never) */
  resultExpires?: number | null;
  /** AMQP: resolve publishes on the broker's confirm (default true); see AmqpBrokerOptions */
  confirmPublish?: boolean;
  /** AMQP: bounds on message headers (see AmqpBrokerOptions) */
  maxHeaderDepth?: number;
  maxHeaderValues?: number;
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

/** A broker for a URL (or a failover list of URLs of one scheme). */
export function createBroker(url: string | string[], options: TransportFactoryOptions = {}): Broker {
  const urls = Array.isArray(url) ? url : url.split(/[;,]\s*/).filter(Boolean);
  const s = scheme(urls[0] ?? 'memory://');
  switch (s) {
    case 'memory':
      return new MemoryBroker(urls[0]);
    case 'amqp':
    case 'amqps':
    case 'pyamqp':
      return new AmqpBroker(urls, {
        logger: options.logger,
        confirmPublish: options.confirmPublish,
        maxHeaderDepth: options.maxHeaderDepth,
        maxHeaderValues: options.maxHeaderValues,
      });
    case 'redis':
    case 'rediss':
      return new RedisBroker(urls, { logger: options.logger, maxHeaderDepth: options.maxHeaderDepth, maxHeaderValues: options.maxHeaderValues });
    default:
      throw new UnsupportedUrlError('broker', urls[0], 'amqp://, amqps://, pyamqp://, redis://, rediss://, memory://');
  }
}

/** A result backend for a URL; `rpc://` rides on the app's broker. */
export function createResultBackend(url: string, broker: Broker, options: TransportFactoryOptions = {}): ResultBackend {
  switch (scheme(url)) {
    case 'memory':
      return new MemoryBackend(url);
    case 'redis':
    case 'rediss':
      return new RedisBackend(url, { logger: options.logger, resultExpiresSeconds: options.resultExpires });
    case 'rpc':
      return new RpcBackend(broker, { logger: options.logger, resultExpiresSeconds: options.resultExpires });
    default:
      throw new UnsupportedUrlError('result backend', url, 'redis://, rediss://, rpc://, memory://');
  }
}
