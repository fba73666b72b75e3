// The failover order over a list of RabbitMQ nodes: kombu's 'round-robin' and 'shuffle' strategies.
import { failoverOrder } from './amqp-connect.js';

describe('failoverOrder', () => {
  it('round-robin starts at the first node, then moves on from the node that was lost, wrapping round', () => {
    expect(failoverOrder(3, 'round-robin')).toEqual([0, 1, 2]);
    expect(failoverOrder(3, 'round-robin', 0)).toEqual([1, 2, 0]);
    expect(failoverOrder(3, 'round-robin', 1)).toEqual([2, 0, 1]);
    expect(failoverOrder(3, 'round-robin', 2)).toEqual([0, 1, 2]);
    expect(failoverOrder(1, 'round-robin', 0)).toEqual([0]);
  });

  it('shuffle tries every node once per round, in varying orders', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const order = failoverOrder(3, 'shuffle', 1);
      expect([...order].sort()).toEqual([0, 1, 2]);
      seen.add(order.join());
    }
    expect(seen.size).toBe(6);
  });
});
