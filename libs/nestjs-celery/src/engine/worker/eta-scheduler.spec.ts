/** EtaScheduler: held messages whose delivery is lost are dropped; long waits are moved before the consumer timeout. */
import type { Delivery } from '../../transport/broker.interface.js';
import { ConsumerTimeoutGuard } from './consumer-timeout.js';
import { EtaScheduler } from './eta-scheduler.js';
import { PrefetchWindow } from './prefetch-window.js';

function delivery(lost?: AbortController) {
  const settled: string[] = [];
  const d = {
    message: { body: Buffer.alloc(0), contentType: 'application/json', contentEncoding: 'utf-8', headers: { id: 't' }, properties: {} },
    deliveryInfo: { exchange: '', routingKey: 'q', queue: 'q', redelivered: false },
    lost: lost?.signal,
    ack: async () => void settled.push('ack'),
    reject: async (requeue: boolean) => void settled.push(`reject ${requeue}`),
  } as Delivery;
  return { d, settled };
}

describe('EtaScheduler', () => {
  test('a held message whose delivery is lost is dropped at once and never runs', async () => {
    const window = new PrefetchWindow(2);
    const eta = new EtaScheduler(window);
    const lost = new AbortController();
    const { d, settled } = delivery(lost);
    let ran = 0;
    const held = eta.hold(d, new Date(Date.now() + 60_000), async () => void ran++);
    expect(eta.size).toBe(1);
    expect(window.size).toBe(3);
    lost.abort();
    await held;
    expect({ size: eta.size, window: window.size, ran, settled }).toEqual({ size: 0, window: 2, ran: 0, settled: [] });
  }, 10_000);

  test('a wait past the consumer timeout is republished and acked, not run here', async () => {
    const window = new PrefetchWindow(2);
    const republished: Delivery[] = [];
    const guard = new ConsumerTimeoutGuard(200);
    const eta = new EtaScheduler(window, { guard, republish: async (x) => void republished.push(x), failed: () => undefined });
    const { d, settled } = delivery(new AbortController());
    let ran = 0;
    await eta.hold(d, new Date(Date.now() + 60_000), async () => void ran++);
    guard.close();
    expect({ republished: republished.length, settled, ran, size: eta.size, window: window.size }).toEqual({
      republished: 1,
      settled: ['ack'],
      ran: 0,
      size: 0,
      window: 2,
    });
  }, 10_000);

  test('a failed republish requeues the message instead', async () => {
    const guard = new ConsumerTimeoutGuard(200);
    const failures: unknown[] = [];
    const eta = new EtaScheduler(new PrefetchWindow(1), {
      guard,
      republish: async () => Promise.reject(new Error('no confirm')),
      failed: (_d, e) => void failures.push(e),
    });
    const { d, settled } = delivery();
    await eta.hold(d, new Date(Date.now() + 60_000), async () => undefined);
    guard.close();
    expect({ settled, failures: failures.length }).toEqual({ settled: ['reject true'], failures: 1 });
  }, 10_000);
});
