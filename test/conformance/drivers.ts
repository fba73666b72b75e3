/**
 * The one place the conformance suites learn which drivers exist and how to build each, directly
 * or through a TcpProxy the test controls. What a driver can do is never listed here: the suites
 * read the driver's own `capabilities` (and `delayedDelivery`, `chord`).
 */
import { AmqpBroker } from '../../libs/nestjs-celery/src/transport/amqp/amqp.broker.js';
import { RedisBroker } from '../../libs/nestjs-celery/src/transport/redis/broker/redis.broker.js';
import { MemoryBroker } from '../../libs/nestjs-celery/src/transport/memory/memory.broker.js';
import { MemoryBackend } from '../../libs/nestjs-celery/src/transport/memory/memory.backend.js';
import { RedisBackend } from '../../libs/nestjs-celery/src/transport/redis/backend/redis.backend.js';
import { RpcBackend } from '../../libs/nestjs-celery/src/transport/rpc/rpc.backend.js';
import type { Broker } from '../../libs/nestjs-celery/src/transport/broker.interface.js';
import type { ResultBackend } from '../../libs/nestjs-celery/src/transport/result-backend.interface.js';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { AMQP4_URL, AMQP_URL, REDIS_URL, uniqueName, type ServiceName } from '../support/services.js';

/** How to reach a networked driver's service, so a test can put a TcpProxy in front of it. */
export interface Network {
  /** the service's own port (what the proxy forwards to) */
  port: number;
}

export interface BrokerDriver {
  name: string;
  /** services that must be up (describeIfAvailable) */
  services: ServiceName[];
  /** a new broker; with `viaPort`, it connects through that local port (a proxy) instead */
  create(viaPort?: number): Broker;
  /** absent: in-process, there is no connection to cut */
  network?: Network;
}

export interface BackendOptions {
  /** connect through this local port (a proxy) instead of the service's */
  viaPort?: number;
  /** Celery's result_expires, for backends that take it */
  resultExpiresSeconds?: number;
}

/** A backend plus whatever it stands on (the RPC backend's broker), closed by close(). */
export interface BackendHandle {
  backend: ResultBackend;
  connect(): Promise<void>;
  close(): Promise<void>;
}

export interface BackendDriver {
  name: string;
  services: ServiceName[];
  create(options?: BackendOptions): BackendHandle;
  network?: Network;
  /**
   * How the backend lets a result go, which the ResultBackend API does not say: 'ttl' — stored
   * with result_expires, gone after it (Redis SETEX); 'one-shot' — a result is a message to the
   * client that asked, consumed once and never stored where another client could read it (RPC;
   * result_expires only bounds how long an unused reply queue lives, x-expires); 'none' — kept for
   * the life of the process (memory takes no result_expires).
   */
  expiry: 'ttl' | 'one-shot' | 'none';
}

/** `url` with its host:port replaced by 127.0.0.1:`port` (the proxy in front of it). */
function via(url: string, port: number | undefined): string {
  if (port === undefined) return url;
  const u = new URL(url);
  u.host = `127.0.0.1:${port}`;
  return u.toString();
}

const portOf = (url: string, fallback: number): number => Number(new URL(url).port || fallback);

/** every memory broker of a run shares one vhost, as brokers on one server share queues */
const memoryVhost = `memory://${uniqueName('conf')}`;

export const brokerDrivers: BrokerDriver[] = [
  {
    name: 'memory',
    services: [],
    create: () => new MemoryBroker(memoryVhost),
  },
  {
    name: 'amqp (RabbitMQ 3.10)',
    services: ['rabbitmq'],
    // a quick retry: a reconnect test restores the network after a short cut
    create: (viaPort) => new AmqpBroker(via(AMQP_URL, viaPort), { logger: silentLogger, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } }),
    network: { port: portOf(AMQP_URL, 5672) },
  },
  {
    name: 'amqp (RabbitMQ 4.3)',
    services: ['rabbitmq4'],
    create: (viaPort) => new AmqpBroker(via(AMQP4_URL, viaPort), { logger: silentLogger, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } }),
    network: { port: portOf(AMQP4_URL, 5672) },
  },
  {
    name: 'redis',
    services: ['redis'],
    create: (viaPort) => new RedisBroker(via(REDIS_URL, viaPort), { logger: silentLogger }),
    network: { port: portOf(REDIS_URL, 6379) },
  },
];

const plain = (backend: ResultBackend): BackendHandle => ({ backend, connect: () => backend.connect(), close: () => backend.close() });

export const backendDrivers: BackendDriver[] = [
  {
    name: 'memory',
    services: [],
    create: () => plain(new MemoryBackend(`memory://${uniqueName('conf')}`)),
    expiry: 'none',
  },
  {
    name: 'redis',
    services: ['redis'],
    create: ({ viaPort, resultExpiresSeconds } = {}) => plain(new RedisBackend(via(REDIS_URL, viaPort), { logger: silentLogger, resultExpiresSeconds })),
    network: { port: portOf(REDIS_URL, 6379) },
    expiry: 'ttl',
  },
  {
    name: 'rpc (RabbitMQ 3.10)',
    services: ['rabbitmq'],
    create: ({ viaPort, resultExpiresSeconds } = {}) => {
      const broker = new AmqpBroker(via(AMQP_URL, viaPort), { logger: silentLogger, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } });
      const backend = new RpcBackend(broker, { logger: silentLogger, resultExpiresSeconds });
      return {
        backend,
        connect: async () => {
          await broker.connect();
          await backend.connect();
        },
        close: async () => {
          await backend.close();
          await broker.close();
        },
      };
    },
    network: { port: portOf(AMQP_URL, 5672) },
    expiry: 'one-shot',
  },
];
