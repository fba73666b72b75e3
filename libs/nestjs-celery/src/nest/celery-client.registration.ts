// CeleryModule.registerClient / registerClientAsync: named clients declared in a feature module, on top of
// the root options (forRoot's connection settings are their defaults) and sharing the root's connection.
import { Module, type DynamicModule, type FactoryProvider, type ModuleMetadata, type Provider } from '@nestjs/common';
import type { CeleryOptions } from '../engine/celery.options.js';
import { CeleryClient } from './celery.client.js';
import { CeleryExplorer } from './celery.explorer.js';
import { MODULE_OPTIONS_TOKEN } from './celery.module-definition.js';
import { getCeleryClientToken } from './celery-client.token.js';
import { connectionOptions, type CeleryModuleOptions, type CeleryNamedClientOptions } from './celery-module.options.js';

/** `CeleryModule.registerClientAsync` entry: the client's name up front, its options from a factory. */
export interface CeleryClientAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  name: string;
  /** the client's options; unset keys take the root's (forRoot's) value */
  useFactory: (...args: never[]) => CeleryOptions | Promise<CeleryOptions>;
  inject?: FactoryProvider['inject'];
}

/** What decides the connection: a client that differs from the root in none of these shares the root's. */
const CONNECTION_KEYS = [
  'broker',
  'backend',
  'brokerUseSsl',
  'redisBackendUseSsl',
  'brokerTransportOptions',
  'resultBackendTransportOptions',
  'confirmPublish',
  'resultExpires',
  'maxHeaderDepth',
  'maxHeaderValues',
] as const satisfies readonly (keyof CeleryOptions)[];

/** Equal settings: the same value or instance, or equal plain data (URL lists, option objects). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}

function checkName(name: unknown): void {
  if (typeof name !== 'string' || name === '' || name === 'default') {
    throw new TypeError(`CeleryModule.registerClient: a client needs a name other than "default" (the root client), got ${JSON.stringify(name)}`);
  }
}

/** A named client on the root client's broker and backend: the root client owns and closes them. */
class SharedConnectionClient extends CeleryClient {
  override async close(): Promise<void> {}
}

/**
 * The client a registration describes: the root's connection settings under its own; when the
 * connection comes out the same as the root's, it publishes through the root client's broker and
 * backend (one connection), else it opens its own.
 */
function createClient(
  options: CeleryOptions,
  root: CeleryModuleOptions | undefined,
  rootClient: CeleryClient | undefined,
  explorer: CeleryExplorer | undefined,
): CeleryClient {
  const base = root ? connectionOptions(root) : {};
  const merged = connectionOptions({ ...base, ...options });
  let client: CeleryClient;
  if (rootClient && root && CONNECTION_KEYS.every((key) => same(merged[key], base[key]))) {
    const app = rootClient.unwrap();
    client = new SharedConnectionClient({ ...merged, broker: app.broker, backend: app.backend ?? undefined });
  } else client = new CeleryClient(merged);
  // the app's @CeleryTask tasks keep their own queue and serializer when sent through it
  if (explorer) client.addTaskSource(explorer);
  return client;
}

const rootDependencies = [
  { token: MODULE_OPTIONS_TOKEN, optional: true },
  { token: CeleryClient, optional: true },
  { token: CeleryExplorer, optional: true },
];

/** The module registerClient/registerClientAsync return: the named clients, nothing else of CeleryModule. */
@Module({})
export class CeleryClientsModule {
  static register(clients: readonly CeleryNamedClientOptions[]): DynamicModule {
    clients.forEach((c) => checkName(c.name));
    const providers: Provider[] = clients.map(({ name, ...options }) => ({
      provide: getCeleryClientToken(name),
      useFactory: (root?: CeleryModuleOptions, rootClient?: CeleryClient, explorer?: CeleryExplorer) => createClient(options, root, rootClient, explorer),
      inject: rootDependencies,
    }));
    return { module: CeleryClientsModule, providers, exports: providers };
  }

  static registerAsync(clients: readonly CeleryClientAsyncOptions[]): DynamicModule {
    clients.forEach((c) => checkName(c.name));
    const providers: Provider[] = clients.map(({ name, useFactory, inject = [] }) => ({
      provide: getCeleryClientToken(name),
      useFactory: async (root: CeleryModuleOptions | undefined, rootClient: CeleryClient | undefined, explorer: CeleryExplorer | undefined, ...deps: never[]) =>
        createClient(await useFactory(...deps), root, rootClient, explorer),
      inject: [...rootDependencies, ...inject],
    }));
    return { module: CeleryClientsModule, imports: clients.flatMap((c) => c.imports ?? []), providers, exports: providers };
  }
}
