// CeleryModule: gives a Nest app its Celery clients (default and named), @CeleryTask discovery,
// the health indicator and, with the `worker` option, a worker.
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule, MetadataScanner } from '@nestjs/core';
import { CeleryClient } from './celery.client.js';
import { CeleryClientsModule, type CeleryClientAsyncOptions } from './celery-client.registration.js';
import { CeleryExplorer } from './celery.explorer.js';
import { CeleryHealthIndicator } from './celery.health.js';
import { ASYNC_OPTIONS_TYPE, ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE } from './celery.module-definition.js';
import { getCeleryClientToken } from './celery-client.token.js';
import { CeleryMetadataAccessor } from './celery-metadata.accessor.js';
import { connectionOptions, type CeleryModuleOptions, type CeleryNamedClientOptions } from './celery-module.options.js';
import { CeleryWorkerHost } from './celery-worker.host.js';
import { CeleryBeatHost } from './celery-beat.host.js';

/** A client of this module sends the app's `@CeleryTask` tasks with their own queue and serializer. */
function withTasks(client: CeleryClient, explorer: CeleryExplorer): CeleryClient {
  client.addTaskSource(explorer);
  return client;
}

const defaultClient: Provider = {
  provide: CeleryClient,
  useFactory: (options: CeleryModuleOptions, explorer: CeleryExplorer) => withTasks(new CeleryClient(connectionOptions(options)), explorer),
  inject: [MODULE_OPTIONS_TOKEN, CeleryExplorer],
};

function namedClient(name: string): Provider {
  return {
    provide: getCeleryClientToken(name),
    useFactory: (options: CeleryModuleOptions, explorer: CeleryExplorer) => {
      const client = options.clients?.find((c) => c.name === name);
      if (!client) {
        const known = options.clients?.map((c) => c.name).join(', ') || 'none';
        throw new Error(`CeleryModule: client "${name}" was announced (clientNames) but the options have no clients entry with that name (clients: ${known})`);
      }
      return withTasks(new CeleryClient({ logger: options.logger, ...connectionOptions(client) }), explorer);
    },
    inject: [MODULE_OPTIONS_TOKEN, CeleryExplorer],
  };
}

/** Adds the clients of `names` (and the default one) to a definition built by the builder. */
function withClients(definition: DynamicModule, names: readonly string[] = []): DynamicModule {
  const unique = [...new Set(names)];
  const clients = unique.map(namedClient);
  return {
    ...definition,
    providers: [...(definition.providers ?? []), defaultClient, ...clients, CeleryHealthIndicator],
    // the options too: registerClient's clients take them as defaults (and the explorer: the app's task queues and serializers)
    exports: [
      ...(definition.exports ?? []),
      MODULE_OPTIONS_TOKEN,
      CeleryExplorer,
      CeleryClient,
      ...unique.map((n) => getCeleryClientToken(n)),
      CeleryHealthIndicator,
    ],
  };
}

/**
 * Celery for a Nest app: the default CeleryClient (inject the class), named clients
 * (`@InjectCeleryClient('reports')`), `@CeleryTask` discovery, and, with `worker`, a worker
 * running those tasks. Global by default (`isGlobal: false` to scope it).
 *
 *   CeleryModule.forRoot({ broker: 'amqp://localhost', backend: 'redis://localhost', worker: { queues: ['celery'] } })
 *   CeleryModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (c) => ({ broker: c.get('BROKER_URL') }), clientNames: ['reports'] })
 */
@Module({
  imports: [DiscoveryModule],
  providers: [MetadataScanner, CeleryMetadataAccessor, CeleryExplorer, CeleryWorkerHost, CeleryBeatHost],
})
export class CeleryModule extends ConfigurableModuleClass {
  /** The module with its options given now: the default CeleryClient (and named `clients`), and a worker when `worker` is set. */
  static override forRoot(options: typeof OPTIONS_TYPE): DynamicModule {
    const names = [...(options.clientNames ?? []), ...(options.clients ?? []).map((c) => c.name)];
    return withClients(super.forRoot(options), names);
  }

  /** The module with its options from a factory (`useFactory`/`inject`, `useClass`, `useExisting`); list named clients in `clientNames`. */
  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return withClients(super.forRootAsync(options), options.clientNames);
  }

  /**
   * Named clients for a feature module (like BullModule.registerQueue, ClientsModule.register):
   * `imports: [CeleryModule.registerClient({ name: 'reports', taskDefaultQueue: 'reports' })]`, then
   * `@InjectCeleryClient('reports')`. Unset options take forRoot's; a client whose connection
   * settings (broker, backend, TLS, transport options …) come out the same as the root's shares
   * the root client's connection, else it opens its own.
   */
  static registerClient(...clients: CeleryNamedClientOptions[]): DynamicModule {
    return CeleryClientsModule.register(clients);
  }

  /** registerClient with options from a factory: `{ name, imports, inject, useFactory }`. */
  static registerClientAsync(...clients: CeleryClientAsyncOptions[]): DynamicModule {
    return CeleryClientsModule.registerAsync(clients);
  }
}
