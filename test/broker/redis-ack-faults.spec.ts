/**
 * Redis ack emulation under faults (issue 12, "Redis acks"): a delivery whose unacked entry could
 * not be recorded is still requeued by reject(requeue), and a failed ack is reported, not silent.
 * Faults are injected by the test on the broker's ack emulation.
 */
import type { RedisBroker } from '../../libs/nestjs-celery/src/transport/redis/broker/redis.broker.js';
import { describeIfAvailable, uniqueName } from '../support/services.js';
import { Inbox, RedisSandbox, recordingLogger, taskMessage } from './redis-support.js';

const describeRedis = await describeIfAvailable('redis ack faults', 'redis');

type Emulation = { record: (...a: unknown[]) => Promise<void>; ack: (tag: string) => Promise<void> };
const emulationOf = (broker: RedisBroker) => (broker as unknown as { session: { ackEmulation: Emulation } }).session.ackEmulation;

describeRedis('Redis acks under faults', () => {
  let sandbox: RedisSandbox;
  beforeEach(() => {
    sandbox = new RedisSandbox();
  });
  afterEach(() => sandbox.cleanup(), 30_000);

  it('reject(requeue) of a delivery whose record() failed puts it back in the queue', async () => {
    const logger = recordingLogger();
    const broker = await sandbox.broker({ logger });
    const emulation = emulationOf(broker);
    const queue = uniqueName('q');
    const inbox = new Inbox();
    await broker.consume([queue], { prefetch: 1 }, inbox.handler);
    // the consumer is idle in BRPOP: the message it wakes up with is recorded by record()
    let failRecord = 1;
    const record = emulation.record.bind(emulation);
    emulation.record = async (...a) => {
      if (failRecord-- > 0) throw new Error('OOM command not allowed (injected by the test)');
      return record(...a);
    };
    await new Promise((r) => setTimeout(r, 200));
    await broker.publish(taskMessage('rec-1'), { exchange: '', routingKey: queue });
    const [first] = await inbox.next(1, 30_000);
    await first.reject(true);
    const [, again] = await inbox.next(2, 30_000);
    expect(again.message.headers?.id).toBe('rec-1');
    await again.ack();
    expect(logger.lines.some((l) => l.includes('could not record'))).toBe(true);
  }, 60_000);

  it('a failed ack is logged with what happens to the message, and reported to the caller', async () => {
    const logger = recordingLogger();
    const broker = await sandbox.broker({ logger });
    const emulation = emulationOf(broker);
    const queue = uniqueName('q');
    await broker.publish(taskMessage('ack-1'), { exchange: '', routingKey: queue });
    const inbox = new Inbox();
    await broker.consume([queue], { prefetch: 1 }, inbox.handler);
    const [d] = await inbox.next(1, 30_000);
    emulation.ack = async () => {
      throw new Error('connection lost (injected by the test)');
    };
    await expect(d.ack()).rejects.toThrow(/connection lost/);
    expect(logger.lines.some((l) => l.includes('ack of delivery') && l.includes('visibility timeout'))).toBe(true);
  }, 60_000);
});
