// CeleryModule: gives a Nest app its Celery clients (default and named), @CeleryTask discovery,
// the health indicator and, with the `worker` option, a worker.
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule, MetadataScanner } from '@nestjs/core';
import { CeleryClient } from './celery.client.js';
import { CeleryExplorer } from './celery.explorer.js';
import { CeleryHealthIndicator } from './celery.health.js';
import { ASYNC_OPTIONS_TYPE, ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE } from './celery.module-definition.js';
import { getCeleryClientToken } from './celery-client.token.js';
import { CeleryMetadataAccessor } from './celery-metadata.accessor.js';
import { connectionOptions, type CeleryModuleOptions } from './celery-module.options.js';
import { CeleryWorkerHost } from './celery-worker.host.js';
import { CeleryBeatHost } from './celery-beat.host.js';

const defaultClient: Provider = {
  provide: CeleryClient,
  useFactory: (options: CeleryModuleOptions) => new CeleryClient(connectionOptions(options)),
  inject: [MODULE_OPTIONS_TOKEN],
};

function namedClient(name: string): Provider {
  return {
    provide: getCeleryClientToken(name),
    useFactory: (options: CeleryModuleOptions) => {
      const client = options.clients?.find((c) => c.name === name);
      if (!client) {
        const known = options.clients?.map((c) => c.name).join(', ') || 'none';
        throw new Error(`CeleryModule: client "${name}" was announced (clientNames) but the options have no clients entry with that name (clients: ${known})`);
      }
      return new CeleryClient({ logger: options.logger, ...connectionOptions(client) });
    },
    inject: [MODULE_OPTIONS_TOKEN],
  };
}

/** Adds the clients of `names` (and the default one) to a definition built by the builder. */
function withClients(definition: DynamicModule, names: readonly string[] = []): DynamicModule {
  const unique = [...new Set(names)];
  const clients = unique.map(namedClient);
  return {
    ...definition,
    providers: [...(definition.providers ?? []), defaultClient, ...clients, CeleryHealthIndicator],
    exports: [...(definition.exports ?? []), CeleryClient, ...unique.map((n) => getCeleryClientToken(n)), CeleryHealthIndicator],
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
  static override forRoot(options: typeof OPTIONS_TYPE): DynamicModule {
    const names = [...(options.clientNames ?? []), ...(options.clients ?? []).map((c) => c.name)];
    return withClients(super.forRoot(options), names);
  }

  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return withClients(super.forRootAsync(options), options.clientNames);
  }
}
