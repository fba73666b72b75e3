/**
 * Sends monitoring events to `celeryev` the way Celery's EventDispatcher does
 * (celery/events/dispatcher.py): JSON, transient, header `hostname`, routing key from the type,
 * the app's Lamport clock forwarded per event, and groups that switch whole families of events
 * on or off (a worker without task events sends only the `worker` group).
 */
import type { CeleryLogger } from '../../common/logger.js';
import { encodeBody } from '../../protocol/serialization.js';
import type { Broker, PublishRoute, TransportMessage } from '../../transport/broker.interface.js';
import { createEvent, EVENT_EXCHANGE, eventExchange, groupOf, routingKeyOf, type CeleryEvent } from './event.js';
import type { LamportClock } from './lamport-clock.js';
import { withTimeout } from '../control/timeout.js';

/** How long one event may wait for the broker before it is dropped (a monitor misses it, nothing else). */
const SEND_TIMEOUT_MS = 5000;

/** What the dispatcher needs of the app. */
export interface EventDispatcherHost {
  readonly broker: Broker;
  readonly clock: LamportClock;
  /** publishes under the app's maxPendingPublishes bound (Celery.publishDirect) */
  publishDirect(what: string, message: TransportMessage, route: PublishRoute): Promise<void>;
}

export interface EventDispatcherOptions {
  /** the sender's nodename, in every body and in the `hostname` header */
  hostname: string;
  /** false: nothing is sent at all (default true) */
  enabled?: boolean;
  /** only events of these groups are sent ('task', 'worker', …); empty = all */
  groups?: Iterable<string>;
  logger?: CeleryLogger;
}

/** Celery's `EventDispatcher`: publishes monitoring events (task-*, worker-*) to the `celeryev` exchange, as `celery -E` workers do. */
export class EventDispatcher {
  readonly hostname: string;
  readonly groups: Set<string>;
  enabled: boolean;
  private declared?: Promise<void>;
  private failures = 0;

  constructor(
    private readonly app: EventDispatcherHost,
    private readonly options: EventDispatcherOptions,
  ) {
    this.hostname = options.hostname;
    this.enabled = options.enabled ?? true;
    this.groups = new Set(options.groups ?? []);
  }

  /** Would an event of this type be sent now? */
  sends(type: string): boolean {
    return this.enabled && (this.groups.size === 0 || this.groups.has(groupOf(type)));
  }

  /** Declare `celeryev` (once; again after a failed attempt). */
  declare(): Promise<void> {
    this.declared ??= this.app.broker.declareExchange(eventExchange(this.app.broker.capabilities)).catch((error: unknown) => {
      this.declared = undefined;
      throw error;
    });
    return this.declared;
  }

  /**
   * Send one event; resolves once the broker took it, or with false when it was not sent
   * (disabled, filtered, or the broker failed: monitoring never fails the caller).
   */
  async send(type: string, fields: Record<string, unknown> = {}): Promise<boolean> {
    if (!this.sends(type)) return false;
    const event = createEvent(type, fields, { hostname: this.hostname, pid: process.pid, clock: this.app.clock.forward() });
    return this.publish(event, routingKeyOf(type));
  }

  private async publish(event: CeleryEvent, routingKey: string): Promise<boolean> {
    try {
      const encoded = encodeBody(event, 'json');
      const published = this.declare().then(() =>
        this.app.publishDirect(
          `${routingKey} event`,
          {
            body: encoded.body,
            contentType: encoded.contentType,
            contentEncoding: encoded.contentEncoding,
            headers: { hostname: this.hostname },
            properties: { deliveryMode: 1 },
          },
          { exchange: EVENT_EXCHANGE, routingKey },
        ),
      );
      await withTimeout(published, SEND_TIMEOUT_MS, `publishing the ${routingKey} event`);
      this.failures = 0;
      return true;
    } catch (error) {
      // one warning per run of failures, not one per heartbeat while the broker is away
      if (this.failures++ === 0) {
        this.options.logger?.warn(
          `sending ${routingKey} events failed (${(error as Error)?.message ?? error}); monitors may show this worker as offline until the broker is back`,
        );
      }
      return false;
    }
  }
}
