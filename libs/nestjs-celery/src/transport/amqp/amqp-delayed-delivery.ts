/**
 * Native delayed delivery on RabbitMQ as kombu 5.5+ lays it out (kombu/transport/
 * native_delayed_delivery.py): names, the topology plan and the binary routing key. Pure.
 */
import type { ExchangeDeclaration, PublishRoute, QueueDeclaration, QueueType } from '../broker.interface.js';
import { DELAYED_DELIVERY_BITS, DELAYED_DELIVERY_EXCHANGE, stripDelayPrefix } from '../delayed-delivery-names.js';

export { DELAYED_DELIVERY_BITS, DELAYED_DELIVERY_EXCHANGE, stripDelayPrefix } from '../delayed-delivery-names.js';

export const MAX_DELAY_SECONDS = 2 ** DELAYED_DELIVERY_BITS - 1;

export const delayedLevelName = (level: number): string => `celery_delayed_${level}`;

/** An exchange-to-exchange binding: messages reaching `source` with a matching key go on to `destination`. */
export interface ExchangeBinding {
  destination: string;
  source: string;
  routingKey: string;
}

export interface DelayedDeliveryTopology {
  exchanges: ExchangeDeclaration[];
  /** each level queue, bound to its own level exchange with `routingKey` */
  queues: QueueDeclaration[];
  exchangeBindings: ExchangeBinding[];
}

/**
 * The levels 27..0, each a topic exchange and a TTL queue of the same name: a message whose
 * digit for that level is 1 waits 2^level seconds in the queue, then dead-letters to the next
 * level; a 0 digit passes on through an exchange-to-exchange binding. Level 0 hands over to
 * `celery_delayed_delivery`. Queue arguments are kombu's, so Python and we declare alike.
 */
export function delayedDeliveryTopology(queueType: QueueType): DelayedDeliveryTopology {
  const exchanges: ExchangeDeclaration[] = [];
  const queues: QueueDeclaration[] = [];
  const exchangeBindings: ExchangeBinding[] = [];
  let oneKey = '1.#';
  let zeroKey = '0.#';
  for (let level = DELAYED_DELIVERY_BITS - 1; level >= 0; level--) {
    const name = delayedLevelName(level);
    const next = level > 0 ? delayedLevelName(level - 1) : DELAYED_DELIVERY_EXCHANGE;
    exchanges.push({ name, type: 'topic', durable: true, autoDelete: false });
    queues.push({
      name,
      exchange: name,
      exchangeType: 'topic',
      routingKey: oneKey,
      durable: true,
      autoDelete: false,
      arguments: {
        'x-queue-type': queueType,
        'x-overflow': 'reject-publish',
        'x-message-ttl': 2 ** level * 1000,
        'x-dead-letter-exchange': next,
        ...(queueType === 'quorum' ? { 'x-dead-letter-strategy': 'at-least-once' } : {}),
      },
    });
    exchangeBindings.push({ destination: next, source: name, routingKey: zeroKey });
    oneKey = `*.${oneKey}`;
    zeroKey = `*.${zeroKey}`;
  }
  exchanges.push({ name: DELAYED_DELIVERY_EXCHANGE, type: 'topic', durable: true, autoDelete: false });
  return { exchanges, queues, exchangeBindings };
}

/** The key a queue (and its exchange) is bound with for delayed messages: `#.<key>` (kombu). */
export function delayedBindingKey(routingKey: string): string {
  return routingKey.startsWith('#') ? routingKey : `#.${routingKey}`;
}

/** kombu's calculate_routing_key: the delay's 28 binary digits joined by dots, then the key. */
export function delayedRoutingKey(delaySeconds: number, routingKey: string): string {
  const delay = Math.trunc(delaySeconds);
  if (!(delay >= 1)) throw new RangeError(`a delayed-delivery delay must be at least 1 second, got ${delaySeconds}`);
  if (delay > MAX_DELAY_SECONDS) throw new RangeError(`a delayed-delivery delay must be at most ${MAX_DELAY_SECONDS} seconds, got ${delaySeconds}`);
  if (!routingKey) throw new RangeError('a delayed-delivery routing key must be non-empty');
  const digits = delay.toString(2).padStart(DELAYED_DELIVERY_BITS, '0').split('').join('.');
  // a message already delayed once (a retry) keeps one prefix, not two
  return `${digits}.${stripDelayPrefix(routingKey)}`;
}

/** Celery publishes delayed messages to the top level, `celery_delayed_27`. */
export function delayedRoute(delaySeconds: number, routingKey: string): PublishRoute {
  return { exchange: delayedLevelName(DELAYED_DELIVERY_BITS - 1), routingKey: delayedRoutingKey(delaySeconds, routingKey) };
}
