// What a transport family is to the registry (transport/factory.ts): its URL schemes, what the engine reads before
// connecting, and the module it loads; and the settings the registry passes on to the driver it builds.
import type { CeleryLogger } from '../common/logger.js';
import type { Broker, BrokerCapabilities, PublishRoute, TransportMessage } from './broker.interface.js';
import type { ResultBackend, ResultBackendCapabilities } from './result-backend.interface.js';
import type { SslOptions } from './tls-options.js';
import type { BrokerTransportOptions, FailoverStrategy, ResultBackendTransportOptions } from './transport-options.js';

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

/** What a family's module builds, once loaded: its broker and/or result backend for a URL. */
export interface TransportModule {
  /** a broker for `urls` (one URL, or a failover list of URLs of the family's schemes) */
  createBroker?: (urls: string[], options: TransportFactoryOptions) => Broker;
  /** a result backend for `url`; its `oid` must be `options.oid` (clients read it before the module loads) */
  createResultBackend?: (url: string, broker: Broker, options: TransportFactoryOptions & { oid: string }) => ResultBackend;
}

/**
 * A transport family as the registry knows it before its module loads: the URL schemes it serves and what the
 * engine reads before connecting (its label and capabilities). `load` imports the module; it runs once, when a
 * broker or backend of the family first connects, so an app never loads the code (nor the client library) of a
 * family its URLs do not name.
 */
export interface TransportFamily {
  /** the family's label, the broker's / backend's `kind` ('amqp', 'redis', …) */
  name: string;
  /** broker URL schemes, lower case without ':' ('amqp', 'amqps') */
  brokerSchemes?: readonly string[];
  /** result backend URL schemes */
  backendSchemes?: readonly string[];
  /** its broker's capabilities (required with brokerSchemes) */
  brokerCapabilities?: BrokerCapabilities;
  /** its result backend's capabilities (required with backendSchemes) */
  backendCapabilities?: ResultBackendCapabilities;
  /** its result backend keeps native chord counters (`ResultBackend.chord`) */
  nativeChords?: boolean;
  /** its result backend's oid (Celery's `app.thread_oid`): default the process's; a reply-queue backend wants a fresh one each */
  backendOid?: () => string;
  /** import the family's module (a dynamic `import()`) */
  load(): Promise<TransportModule>;
}
