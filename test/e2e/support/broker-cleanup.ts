/** Removes what an e2e suite declared on the shared real brokers (queues and exchanges named after `tag`). */
import { connect } from 'amqplib';
import { Redis } from 'ioredis';
import { AMQP_URL, REDIS_URL } from '../../support/services.js';

/** RabbitMQ: Celery declares a durable queue and a durable direct exchange of the same name. */
export async function deleteAmqpQueues(...queues: string[]): Promise<void> {
  const model = await connect(AMQP_URL);
  model.on('error', () => undefined);
  try {
    for (const name of queues) {
      // a failed delete closes the channel, so one channel per operation
      for (const op of ['deleteQueue', 'deleteExchange'] as const) {
        const channel = await model.createChannel();
        channel.on('error', () => undefined);
        await channel[op](name).catch(() => undefined);
        await channel.close().catch(() => undefined);
      }
    }
  } finally {
    await model.close().catch(() => undefined);
  }
}

/** Redis: the queue lists (and priority lists) and kombu's binding sets whose name contains `tag`. */
export async function deleteRedisKeys(tag: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const pattern = `*${tag.replace(/[*?[\]\\]/g, '\\$&')}*`;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
