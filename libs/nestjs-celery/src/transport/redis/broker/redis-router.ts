/**
 * kombu's virtual exchanges on Redis: exchange types live in process memory (kombu
 * `BrokerState.exchanges`), bindings in the shared `_kombu.binding.<exchange>` sets
 * (kombu/transport/redis.py `_queue_bind`, `get_table`; virtual/base.py `_lookup`).
 */
import type { Redis } from 'ioredis';
import type { ExchangeType } from '../../broker.interface.js';
import { bindingFor, bindingMember, parseBindingMember, routeToQueues, type KombuBinding, type KombuKeys } from './redis-keys.js';

/** What a process remembers of its declarations; it outlives a connection, like kombu's BrokerState. */
export class KombuDeclarations {
  private readonly exchangeTypes = new Map<string, ExchangeType>();
  /** queue → the fanout exchange and binding key it listens to (kombu `_fanout_queues`) */
  readonly fanoutQueues = new Map<string, { exchange: string; bindingKey: string }>();

  /** kombu `exchange_declare`: the first declaration of a name wins, nothing goes to Redis. */
  declareExchange(name: string, type: ExchangeType): void {
    if (name && !this.exchangeTypes.has(name)) this.exchangeTypes.set(name, type);
  }

  /** kombu `typeof`: undeclared exchanges are direct. */
  typeOf(exchange: string): ExchangeType {
    return this.exchangeTypes.get(exchange) ?? 'direct';
  }
}

export class KombuRouter {
  constructor(
    private readonly client: Redis,
    private readonly keys: KombuKeys,
    readonly declarations = new KombuDeclarations(),
  ) {}

  typeOf(exchange: string): ExchangeType {
    return this.declarations.typeOf(exchange);
  }

  /** kombu `queue_bind`: SADD the binding member; remember fanout bindings for PSUBSCRIBE. */
  async bind(exchange: string, routingKey: string, queue: string): Promise<void> {
    const type = this.typeOf(exchange);
    if (type === 'fanout') this.declarations.fanoutQueues.set(queue, { exchange, bindingKey: routingKey });
    await this.client.sadd(this.keys.bindings(exchange), bindingMember(bindingFor(type, routingKey, queue)));
  }

  fanoutBinding(queue: string): { exchange: string; bindingKey: string } | undefined {
    return this.declarations.fanoutQueues.get(queue);
  }

  /** The bindings of an exchange as every kombu process sees them. */
  async bindings(exchange: string): Promise<KombuBinding[]> {
    const members = await this.client.smembers(this.keys.bindings(exchange));
    const out: KombuBinding[] = [];
    for (const m of members) {
      const b = parseBindingMember(m);
      if (b) out.push(b);
    }
    return out;
  }

  /** kombu `_lookup`: '' routes to the queue named by the routing key, others via the bindings. */
  async lookup(exchange: string, routingKey: string): Promise<string[]> {
    if (!exchange) return routingKey ? [routingKey] : [];
    return routeToQueues(this.typeOf(exchange), await this.bindings(exchange), routingKey);
  }
}
