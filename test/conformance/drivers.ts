/**
 * The one place the conformance suites learn which drivers exist, how to build each and what
 * each can do; moving the transport files into family folders changes only these imports.
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

/**
 * What a driver can do. Should become `broker.capabilities` / `backend.capabilities` once the
 * interfaces declare them (issue 13, Build item 2); the suites then read the driver itself.
 */
export interface BrokerCapabilities {
  fanout: boolean;
  delayedDelivery: boolean;
}

export interface BrokerDriver {
  name: string;
  /** services that must be up (describeIfAvailable) */
  services: ServiceName[];
  create(): Broker;
  capabilities: BrokerCapabilities;
}

export interface BackendDriver {
  name: string;
  services: ServiceName[];
  /** the backend plus whatever it stands on, closed by close() */
  create(): { backend: ResultBackend; close(): Promise<void>; connect(): Promise<void> };
  capabilities: { nativeChord: boolean };
}

export const brokerDrivers: BrokerDriver[] = [
  {
    name: 'memory',
    services: [],
    create: () => new MemoryBroker(`memory://${uniqueName('conf')}`),
    capabilities: { fanout: true, delayedDelivery: false },
  },
  {
    name: 'amqp (RabbitMQ 3.10)',
    services: ['rabbitmq'],
    create: () => new AmqpBroker(AMQP_URL, { logger: silentLogger }),
    capabilities: { fanout: true, delayedDelivery: true },
  },
  {
    name: 'amqp (RabbitMQ 4.3)',
    services: ['rabbitmq4'],
    create: () => new AmqpBroker(AMQP4_URL, { logger: silentLogger }),
    capabilities: { fanout: true, delayedDelivery: true },
  },
  {
    name: 'redis',
    services: ['redis'],
    create: () => new RedisBroker(REDIS_URL, { logger: silentLogger }),
    capabilities: { fanout: true, delayedDelivery: false },
  },
];

const plain = (backend: ResultBackend) => ({ backend, connect: () => backend.connect(), close: () => backend.close() });

export const backendDrivers: BackendDriver[] = [
  {
    name: 'memory',
    services: [],
    create: () => plain(new MemoryBackend(`memory://${uniqueName('conf')}`)),
    capabilities: { nativeChord: false },
  },
  {
    name: 'redis',
    services: ['redis'],
    create: () => plain(new RedisBackend(REDIS_URL, { logger: silentLogger })),
    capabilities: { nativeChord: true },
  },
  {
    name: 'rpc (RabbitMQ 3.10)',
    services: ['rabbitmq'],
    create: () => {
      const broker = new AmqpBroker(AMQP_URL, { logger: silentLogger });
      const backend = new RpcBackend(broker, { logger: silentLogger });
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
    capabilities: { nativeChord: false },
  },
];
