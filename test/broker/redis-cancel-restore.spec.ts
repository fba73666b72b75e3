/**
 * RedisBroker: what a cancelled consumer still holds is not forgotten. close() restores it (as
 * kombu restores a channel's unacked messages at close), and while the owner still runs it, the
 * deliveries stay fresh in unacked_index, so the visibility timeout does not hand them out twice.
 */
import { decodeEnvelope } from '../../libs/nestjs-celery/src/protocol/kombu-envelope.js';
import { describeIfAvailable, uniqueName } from '../support/services.js';
import { Inbox, RedisSandbox, sleep, taskMessage } from './redis-support.js';

const describeRedis = await describeIfAvailable('redis broker: cancelled consumers', 'redis');

describeRedis('RedisBroker: deliveries of a cancelled consumer', () => {
  let sandbox: RedisSandbox;
  beforeEach(() => {
    sandbox = new RedisSandbox();
  });
  afterEach(() => sandbox.cleanup(), 30_000);

  it('close() restores what a consumer cancelled earlier still holds', async () => {
    const broker = await sandbox.broker();
    const queue = uniqueName('cancelled');
    for (const id of ['h1', 'h2']) await broker.publish(taskMessage(id), { exchange: '', routingKey: queue });
    const inbox = new Inbox();
    const consumer = await broker.consume([queue], { prefetch: 2 }, inbox.handler);
    const [h1] = await inbox.next(2, 30_000);
    await h1.ack();
    // the owner stops consuming (worker stop) while a task is still running: h2 stays unsettled
    await consumer.cancel();
    await broker.close();
    const left = await sandbox.redis.lrange(sandbox.key(queue), 0, -1);
    expect(left.map((r) => decodeEnvelope(r).message.headers.id)).toEqual(['h2']);
    expect(await sandbox.redis.hlen(sandbox.key('unacked'))).toBe(0);
  }, 60_000);

  it('keeps refreshing what a cancelled consumer still holds, so it is not restored while held', async () => {
    // visibility timeout 1 s: held deliveries are refreshed every 250 ms
    const broker = await sandbox.broker({ visibilityTimeoutSeconds: 1, restoreIntervalSeconds: 0 });
    const rescuer = await sandbox.broker({ visibilityTimeoutSeconds: 1, restoreIntervalSeconds: 0 });
    const queue = uniqueName('cancelled-fresh');
    await broker.publish(taskMessage('f1'), { exchange: '', routingKey: queue });
    const inbox = new Inbox();
    const consumer = await broker.consume([queue], { prefetch: 1 }, inbox.handler);
    const [f1] = await inbox.next(1, 30_000);
    await consumer.cancel();
    // well past the visibility timeout; a live holder refreshed it every 250 ms meanwhile
    await sleep(2500);
    expect(await rescuer.restoreVisible()).toBe(0);
    await f1.ack();
    expect(await sandbox.redis.hlen(sandbox.key('unacked'))).toBe(0);
    expect(await sandbox.redis.llen(sandbox.key(queue))).toBe(0);
  }, 60_000);
});
