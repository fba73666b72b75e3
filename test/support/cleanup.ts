/** Remove what a suite declared on the shared brokers (unique names, so only its own). */
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { AMQP_URL, REDIS_URL } from './services.js';

export async function deleteAmqpQueues(queues: string[], exchanges: string[] = queues, url: string = AMQP_URL): Promise<void> {
  const conn = await amqp.connect(url);
  try {
    for (const q of queues) {
      const ch = await conn.createChannel();
      await ch.deleteQueue(q).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
    for (const e of exchanges) {
      const ch = await conn.createChannel();
      await ch.deleteExchange(e).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** Delete kombu's keys of these queues (plain and priority lists) and their binding sets. */
export async function deleteRedisQueues(queues: string[], url = REDIS_URL): Promise<void> {
  const redis = new Redis(url);
  try {
    const keys = queues.flatMap((q) => [q, `${q}\x06\x163`, `${q}\x06\x166`, `${q}\x06\x169`, `_kombu.binding.${q}`]);
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

export async function deleteQueues(brokerUrl: string, queues: string[]): Promise<void> {
  if (brokerUrl.startsWith('redis')) await deleteRedisQueues(queues, brokerUrl);
  else await deleteAmqpQueues(queues);
}
