import { delayedBindingKey, delayedDeliveryTopology, delayedRoute, delayedRoutingKey, stripDelayPrefix } from './amqp-delayed-delivery.js';

describe('native delayed delivery (kombu native_delayed_delivery.py)', () => {
  test('routing key: the delay in 28 binary digits joined by dots, then the key; a retry keeps one prefix', () => {
    const key = delayedRoutingKey(5, 'celery');
    expect(key).toBe(`${'0.'.repeat(25)}1.0.1.celery`);
    expect(delayedRoutingKey(3, key)).toBe(`${'0.'.repeat(26)}1.1.celery`);
    expect(stripDelayPrefix(key)).toBe('celery');
    expect(stripDelayPrefix('1.0.celery')).toBe('1.0.celery');
    expect(delayedRoute(1.9, 'q')).toEqual({ exchange: 'celery_delayed_27', routingKey: `${'0.'.repeat(27)}1.q` });
    expect(() => delayedRoutingKey(0.5, 'q')).toThrow(RangeError);
    expect(() => delayedRoutingKey(2 ** 28, 'q')).toThrow(RangeError);
  });

  test('topology: 28 levels with kombu arguments and bindings', () => {
    const t = delayedDeliveryTopology('quorum');
    expect(t.exchanges.map((e) => e.name)).toEqual([...Array.from({ length: 28 }, (_, i) => `celery_delayed_${27 - i}`), 'celery_delayed_delivery']);
    expect(t.queues[0]).toMatchObject({
      name: 'celery_delayed_27',
      routingKey: '1.#',
      arguments: {
        'x-queue-type': 'quorum',
        'x-overflow': 'reject-publish',
        'x-message-ttl': 2 ** 27 * 1000,
        'x-dead-letter-exchange': 'celery_delayed_26',
        'x-dead-letter-strategy': 'at-least-once',
      },
    });
    const last = t.queues[27];
    expect(last).toMatchObject({ name: 'celery_delayed_0', routingKey: `${'*.'.repeat(27)}1.#` });
    expect(last.arguments).toMatchObject({ 'x-message-ttl': 1000, 'x-dead-letter-exchange': 'celery_delayed_delivery' });
    expect(t.exchangeBindings[0]).toEqual({ destination: 'celery_delayed_26', source: 'celery_delayed_27', routingKey: '0.#' });
    expect(t.exchangeBindings[27]).toEqual({ destination: 'celery_delayed_delivery', source: 'celery_delayed_0', routingKey: `${'*.'.repeat(27)}0.#` });
    expect(delayedDeliveryTopology('classic').queues[0].arguments).not.toHaveProperty('x-dead-letter-strategy');
    expect(delayedBindingKey('celery')).toBe('#.celery');
    expect(delayedBindingKey('#.x')).toBe('#.x');
  });
});
