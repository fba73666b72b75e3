/**
 * Loading the broker client libraries (amqplib, ioredis) only when a transport first needs one,
 * so a Redis-only app never loads amqplib and vice versa; both are optional peer dependencies.
 * So are prom-client and @opentelemetry/api, loaded when metrics or tracing are turned on.
 */
import { createRequire } from 'node:module';
import { MissingDriverError, type DriverName } from './driver.errors.js';

/** The client libraries a transport family may need, by package name. */
export interface Drivers extends Record<DriverName, unknown> {
  amqplib: typeof import('amqplib');
  ioredis: typeof import('ioredis');
  'prom-client': typeof import('prom-client');
  '@opentelemetry/api': typeof import('@opentelemetry/api');
}

// Synchronous on purpose: RedisBackend opens its connection objects in its constructor, and
// createBroker/createResultBackend are synchronous public API. Both drivers are CommonJS packages.
type Requirer = (name: string) => unknown;
const nodeRequire: Requirer = createRequire(import.meta.url);
let requirer: Requirer = nodeRequire;
const loaded = new Map<DriverName, unknown>();

/** The driver package `name`, loaded on first use. */
export function loadDriver<N extends DriverName>(name: N): Drivers[N] {
  let driver = loaded.get(name);
  if (driver === undefined) {
    try {
      driver = requirer(name);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') throw new MissingDriverError(name, err);
      throw err;
    }
    loaded.set(name, driver);
  }
  return driver as Drivers[N];
}

/** Tests only: replace how drivers are loaded (undefined restores node's require) and forget loaded ones. */
export function setDriverRequirer(next: Requirer | undefined): void {
  requirer = next ?? nodeRequire;
  loaded.clear();
}
