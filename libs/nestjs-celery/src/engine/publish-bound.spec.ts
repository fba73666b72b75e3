// maxPendingPublishes covers the app's own publishes (events, RPC result replies, remote control,
// dead-lettering, ETA republish) as well as task sends: a stalled broker cannot grow memory on the worker side.
import { silentLogger } from '../common/logger.js';
import type { PublishRoute, TransportMessage } from '../transport/broker.interface.js';
import { MemoryBroker } from '../transport/memory/memory.broker.js';
import { Celery } from './celery.js';
import { PublishBackpressureError } from './errors.js';
import { EventDispatcher } from './events/event-dispatcher.js';
import { eventually } from '../../../../test/support/eventually.js';

/** A broker that takes publishes but confirms none until release() (RabbitMQ blocked, or a stalled connection). */
class StalledBroker extends MemoryBroker {
  private readonly waiting: (() => void)[] = [];
  get stalled(): number {
    return this.waiting.length;
  }
  override publish(message: TransportMessage, route: PublishRoute): Promise<void> {
    return new Promise<void>((resolve) => this.waiting.push(resolve)).then(() => super.publish(message, route));
  }
  release(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

const message = (): TransportMessage => ({ body: Buffer.from('{}'), contentType: 'application/json', contentEncoding: 'utf-8', headers: {}, properties: {} });

describe('maxPendingPublishes bounds the worker-side publishes too', () => {
  const apps: Celery[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
  });
  function stalledApp(name: string, backend: string | null): { app: Celery; broker: StalledBroker } {
    const broker = new StalledBroker(`memory://publish-bound-${name}-${process.pid}`);
    const app = new Celery({ broker, backend, maxPendingPublishes: 2, logger: silentLogger });
    apps.push(app);
    return { app, broker };
  }

  test('direct publishes and task sends share the bound; refused at once, accepted again once confirms come', async () => {
    const { app, broker } = stalledApp('shared', null);
    await app.connect();
    const route = { exchange: '', routingKey: 'publish-bound' };
    const held = [app.publishDirect('remote-control reply', message(), route), app.publishDirect('ETA task republish', message(), route)];
    expect(broker.stalled).toBe(2);
    await expect(app.publishDirect('remote-control reply', message(), route)).rejects.toThrow(PublishBackpressureError);
    await expect(app.publishDirect('remote-control reply', message(), route)).rejects.toThrow(/remote-control reply.*maxPendingPublishes/);
    await expect(app.sendTask('bound.t')).rejects.toBeInstanceOf(PublishBackpressureError);
    expect(broker.stalled).toBe(2); // nothing refused reached the broker
    broker.release();
    await expect(Promise.all(held)).resolves.toHaveLength(2);
    const sent = app.sendTask('bound.t');
    await eventually(() => broker.stalled === 1, 'the task publish');
    broker.release();
    await expect(sent).resolves.toBeDefined();
  });

  test('an event over the bound is dropped (send() says false), not queued in memory', async () => {
    const { app, broker } = stalledApp('events', null);
    await app.connect();
    const events = new EventDispatcher(app, { hostname: 'bound@test', logger: silentLogger });
    const first = events.send('worker-heartbeat');
    const second = events.send('worker-heartbeat');
    await eventually(() => broker.stalled === 2, 'both events published');
    await expect(events.send('worker-heartbeat')).resolves.toBe(false);
    expect(broker.stalled).toBe(2);
    broker.release();
    await expect(Promise.all([first, second])).resolves.toEqual([true, true]);
  });

  test('an RPC result reply over the bound fails its store (the worker then takes its store-failure path), not queued in memory', async () => {
    const { app, broker } = stalledApp('rpc', 'rpc://');
    await app.connect();
    const route = { exchange: '', routingKey: 'publish-bound' };
    const held = [app.publishDirect('x', message(), route), app.publishDirect('x', message(), route)];
    const meta = { status: 'SUCCESS' as const, result: 1, traceback: null, children: null, task_id: 'id-1' };
    await expect(app.backend!.store(meta, { taskId: 'id-1', replyTo: 'reply-queue' })).rejects.toThrow(/rpc result reply.*maxPendingPublishes/);
    expect(broker.stalled).toBe(2);
    broker.release();
    await Promise.all(held);
    const stored = app.backend!.store(meta, { taskId: 'id-1', replyTo: 'reply-queue' });
    await eventually(() => broker.stalled === 1, 'the reply publish');
    broker.release();
    await expect(stored).resolves.toBeUndefined();
  });
});
