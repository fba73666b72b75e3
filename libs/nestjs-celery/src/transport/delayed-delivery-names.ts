// kombu's native delayed delivery names (kombu/transport/native_delayed_delivery.py) that a worker reads on any
// broker: the topology's exchanges and the delay prefix of a routing key. The AMQP family builds the rest on them.

/** 28 levels: delays up to 2^28 - 1 seconds (about 8.5 years). */
export const DELAYED_DELIVERY_BITS = 28;
export const DELAYED_DELIVERY_EXCHANGE = 'celery_delayed_delivery';

const DELAY_PREFIX = new RegExp(`^(?:[01]\\.){${DELAYED_DELIVERY_BITS}}`);

/** A routing key without the delay's digits (a message that came through delayed delivery). */
export function stripDelayPrefix(routingKey: string): string {
  return routingKey.replace(DELAY_PREFIX, '');
}

/** True for the exchanges of the delayed-delivery topology (where a delayed message was last routed). */
export const isDelayedDeliveryExchange = (exchange: string): boolean => exchange === DELAYED_DELIVERY_EXCHANGE || /^celery_delayed_\d+$/.test(exchange);
