/**
 * What the bench itself asks of RabbitMQ and Redis, outside the code under test: queue
 * depths (to check a preload landed and a drain emptied the queue), consumer counts (only one
 * worker per queue), deleting the bench's queues and result keys, and checking stored results.
 */
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { Redis } from 'ioredis';
import type { BrokerKind } from './config.js';

/** kombu's priority-list separator and steps (kombu/transport/redis.py) */
const SEP = '\x06\x16';
const PRIORITY_STEPS = [3, 6, 9];
const RESULT_PREFIX = 'celery-task-meta-';

export class BrokerAdmin {
  private amqpModel?: ChannelModel;
  private amqpChannel?: Channel;
  readonly redis: Redis;

  constructor(
    private readonly urls: Record<BrokerKind, string>,
    backendUrl: string,
  ) {
    this.redis = new Redis(backendUrl, { lazyConnect: true, connectionName: 'nestjs-celery-bench:admin' });
    // ioredis reconnects by itself; the command that needed it fails and the scenario reports that
    this.redis.on('error', () => undefined);
  }

  async connect(kinds: BrokerKind[]): Promise<void> {
    await this.redis.connect();
    if (kinds.includes('amqp')) {
      await this.connectAmqp();
      this.amqpChannel = await this.openChannel();
    }
  }

  private async connectAmqp(): Promise<ChannelModel> {
    const model = await connect(this.urls.amqp);
    model.on('error', () => undefined);
    // a RabbitMQ restart under the bench must not leave its queues behind: reconnect on next use
    model.on('close', () => {
      if (this.amqpModel === model) this.amqpModel = undefined;
    });
    this.amqpModel = model;
    return model;
  }

  /** Server versions, for the report header. */
  async versions(): Promise<{ rabbitmq?: string; redis?: string }> {
    const info = await this.redis.info('server');
    const redis = /redis_version:(\S+)/.exec(info)?.[1];
    const props = (this.amqpModel as unknown as { connection?: { serverProperties?: { version?: string } } } | undefined)?.connection?.serverProperties;
    return { redis, rabbitmq: props?.version };
  }

  async close(): Promise<void> {
    await this.amqpModel?.close().catch(() => undefined);
    this.redis.disconnect();
  }

  /** A failed passive check closes the channel in AMQP, so open a fresh one when needed. */
  private async channel(): Promise<Channel> {
    if (!this.amqpChannel) this.amqpChannel = await this.openChannel();
    return this.amqpChannel;
  }

  private async openChannel(): Promise<Channel> {
    const model = this.amqpModel ?? (await this.connectAmqp());
    const ch = await model.createChannel();
    ch.on('error', () => undefined);
    ch.on('close', () => {
      if (this.amqpChannel === ch) this.amqpChannel = undefined;
    });
    return ch;
  }

  /** Messages waiting in the queue (RabbitMQ: ready ones; Redis: list lengths of all priority steps). */
  async depth(kind: BrokerKind, queue: string): Promise<number> {
    if (kind === 'amqp') return (await (await this.channel()).checkQueue(queue)).messageCount;
    const lens = await Promise.all([queue, ...PRIORITY_STEPS.map((s) => `${queue}${SEP}${s}`)].map((k) => this.redis.llen(k)));
    return lens.reduce((a, b) => a + b, 0);
  }

  /** Task ids of the messages waiting in a Redis queue (kombu envelopes); undefined on RabbitMQ. */
  async queuedTaskIds(kind: BrokerKind, queue: string): Promise<string[] | undefined> {
    if (kind !== 'redis') return undefined;
    const raw = await this.redis.lrange(queue, 0, 999);
    return raw.map((r) => String((JSON.parse(r) as { headers?: { id?: unknown } }).headers?.id));
  }

  /** Consumers on the queue (RabbitMQ only; Redis has no notion of it, so null). */
  async consumers(kind: BrokerKind, queue: string): Promise<number | null> {
    if (kind !== 'amqp') return null;
    return (await (await this.channel()).checkQueue(queue)).consumerCount;
  }

  /** Remove the queue and what Celery declared with it (its direct exchange / kombu binding set). */
  async deleteQueue(kind: BrokerKind, queue: string): Promise<void> {
    if (kind === 'amqp') {
      const ch = await this.channel();
      await ch.deleteQueue(queue);
      await ch.deleteExchange(queue);
      return;
    }
    await this.redis.del(queue, ...PRIORITY_STEPS.map((s) => `${queue}${SEP}${s}`), `_kombu.binding.${queue}`);
  }

  /** Delete an exchange only when nothing is bound to it (celery-node declares a shared `default`). */
  async deleteExchangeIfUnused(name: string): Promise<void> {
    const ch = await (this.amqpModel ?? (await this.connectAmqp())).createChannel();
    ch.on('error', () => undefined);
    try {
      await ch.deleteExchange(name, { ifUnused: true });
      await ch.close();
    } catch {
      // in use by someone else: leave it
    }
  }

  /**
   * Check that every task stored SUCCESS with the value `expected(i)` (ids[i] ran add(i, 1)).
   * Returns the number of wrong or missing results.
   */
  async verifyResults(ids: string[], expected: (i: number) => unknown): Promise<number> {
    let wrong = 0;
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      const values = await this.redis.mget(chunk.map((id) => RESULT_PREFIX + id));
      values.forEach((v, j) => {
        if (v === null) return void wrong++;
        const meta = JSON.parse(v) as { status?: string; result?: unknown };
        if (meta.status !== 'SUCCESS' || meta.result !== expected(i + j)) wrong++;
      });
    }
    return wrong;
  }

  async deleteResults(ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 1000) await this.redis.del(...ids.slice(i, i + 1000).map((id) => RESULT_PREFIX + id));
  }
}
