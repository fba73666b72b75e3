// CeleryHealthIndicator: a @nestjs/terminus-shaped health check over the broker and backend connections.
import { Inject, Injectable, Optional, type OnModuleDestroy } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Subscription } from 'rxjs';
import type { Celery } from '../engine/celery.js';
import type { ConnectionStatus } from '../transport/connection-status.js';
import { CeleryClient } from './celery.client.js';
import { MODULE_OPTIONS_TOKEN } from './celery.module-definition.js';
import type { CeleryModuleOptions } from './celery-module.options.js';
import { getCeleryClientToken } from './celery-client.token.js';
import type { CeleryServer } from './celery.server.js';

/** The shape @nestjs/terminus expects from an indicator: `{ [key]: { status: 'up' | 'down', … } }`. */
export type CeleryHealthResult<K extends string = string> = Record<K, { status: 'up' | 'down'; [detail: string]: unknown }>;

async function connectWithin(app: Celery, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([app.connect().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** Latest status of each connection of one Celery app. */
class ConnectionWatch {
  broker: ConnectionStatus = 'connecting';
  backend: ConnectionStatus | 'none' = 'none';
  private readonly subscriptions: Subscription[] = [];
  constructor(app: Celery) {
    this.subscriptions.push(app.broker.status$.subscribe((s) => (this.broker = s)));
    if (app.backend) {
      this.backend = 'connecting';
      this.subscriptions.push(app.backend.status$.subscribe((s) => (this.backend = s)));
    }
  }
  get healthy(): boolean {
    return this.broker === 'connected' && (this.backend === 'none' || this.backend === 'connected');
  }
  close() {
    for (const s of this.subscriptions) s.unsubscribe();
  }
}

/**
 * A @nestjs/terminus health indicator (structural: terminus is not a dependency of the library):
 *
 *   @Get('health') @HealthCheck()
 *   check() { return this.health.check([() => this.celery.isHealthy('celery')]); }
 *
 * Up when every broker and result backend of the default client (which the module's worker
 * shares), the named clients and the given CeleryServers is connected; down with each
 * connection's status otherwise: 'starting' (with the retry and the last error) while an app
 * retries its first connection (brokerConnectionRetryOnStartup), 'down' once it gave up, and
 * 'blocked' (with RabbitMQ's reason) while RabbitMQ blocks publishing on a connected broker
 * (connection.blocked: a memory or disk alarm), until connection.unblocked: its publishes are
 * held, so the app is down for anything that sends tasks.
 */
@Injectable()
export class CeleryHealthIndicator implements OnModuleDestroy {
  private readonly watches = new Map<Celery, ConnectionWatch>();
  /** how long a check waits for a not-yet-connected client to connect */
  timeoutMs = 2000;

  constructor(
    private readonly client: CeleryClient,
    private readonly moduleRef: ModuleRef,
    @Optional() @Inject(MODULE_OPTIONS_TOKEN) private readonly options?: CeleryModuleOptions,
  ) {}

  private watch(app: Celery): ConnectionWatch {
    let w = this.watches.get(app);
    if (!w) this.watches.set(app, (w = new ConnectionWatch(app)));
    return w;
  }

  /** Every Celery app to check: the default client, the named clients, the servers (undefined = not listening). */
  private apps(servers: CeleryServer[]): [string, Celery | undefined][] {
    const apps: [string, Celery | undefined][] = [['default', this.client.unwrap<Celery>()]];
    for (const { name } of this.options?.clients ?? []) {
      apps.push([name, this.moduleRef.get<CeleryClient>(getCeleryClientToken(name), { strict: false }).unwrap<Celery>()]);
    }
    servers.forEach((server, i) => {
      let app: Celery | undefined;
      try {
        app = server.unwrap<{ app: Celery }>().app;
      } catch {
        app = undefined; // not listening
      }
      apps.push([servers.length > 1 ? `server${i}` : 'server', app]);
    });
    return apps;
  }

  /** Terminus-shaped result for `key`; pass the app's CeleryServer(s) to include their connections. */
  async isHealthy<K extends string = 'celery'>(key: K = 'celery' as K, ...servers: CeleryServer[]): Promise<CeleryHealthResult<K>> {
    const details: Record<string, { broker: string; backend: string; retry?: number; error?: string; blocked?: string }> = {};
    let up = true;
    for (const [name, app] of this.apps(servers)) {
      if (!app) {
        details[name] = { broker: 'not listening', backend: 'not listening' };
        up = false;
        continue;
      }
      const w = this.watch(app);
      // retrying its first connection ('starting') or gave up on it ('down'): say so, don't wait
      const startingOrDown = () => app.startup.state === 'starting' || app.startup.state === 'down';
      // clients connect lazily: a health check is a reason to connect (bounded by timeoutMs)
      if (!startingOrDown() && !w.healthy) await connectWithin(app, this.timeoutMs);
      const { state, retry, error } = app.startup;
      const blocked = w.broker === 'connected' ? app.broker.blocked : undefined;
      if (startingOrDown()) details[name] = { broker: state, backend: w.backend, retry, ...(error ? { error } : {}) };
      else if (blocked !== undefined) details[name] = { broker: 'blocked', backend: w.backend, blocked };
      else details[name] = { broker: w.broker, backend: w.backend };
      up &&= !startingOrDown() && w.healthy && blocked === undefined;
    }
    return { [key]: { status: up ? 'up' : 'down', ...details } } as CeleryHealthResult<K>;
  }

  /** Nest lifecycle hook: stops watching the connections. */
  onModuleDestroy(): void {
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
  }
}
