/**
 * Queue and exchange declarations exactly as kombu makes them (kombu/entity.py `Queue.declare`:
 * exchange.declare, queue_declare, queue_bind), so RabbitMQ finds them equivalent to what
 * Python Celery declared and never answers PRECONDITION_FAILED.
 *
 * Declarations run one at a time on their own channel: a refused declaration closes the channel
 * it ran on, and must not take publishes, consumers or other declarations down with it.
 */
import type { Channel, ChannelModel } from 'amqplib';
import type { CeleryLogger } from '../common/logger.js';
import type { ExchangeDeclaration, QueueDeclaration } from './broker.interface.js';
import { AmqpDeclarationError } from './amqp-errors.js';
import { encodeAmqpTable } from './amqp-headers.js';

/** The exchange a queue declaration binds to: '' means none (the default exchange only). */
export function queueExchangeName(queue: QueueDeclaration): string {
  return queue.exchange ?? queue.name;
}

async function declareExchangeOn(channel: Channel, exchange: ExchangeDeclaration): Promise<void> {
  await channel.assertExchange(exchange.name, exchange.type, {
    durable: exchange.durable ?? true,
    autoDelete: exchange.autoDelete ?? false,
    internal: false,
  });
}

async function declareQueueOn(channel: Channel, queue: QueueDeclaration): Promise<void> {
  const exchange = queueExchangeName(queue);
  if (exchange !== '') {
    await declareExchangeOn(channel, {
      name: exchange,
      type: queue.exchangeType ?? 'direct',
      durable: queue.exchangeDurable ?? true,
    });
  }
  await channel.assertQueue(queue.name, {
    durable: queue.durable ?? true,
    exclusive: queue.exclusive ?? false,
    autoDelete: queue.autoDelete ?? false,
    // typed like py-amqp types them (x-max-priority etc. as signed 32-bit)
    arguments: queue.arguments ? encodeAmqpTable(queue.arguments) : undefined,
  });
  if (exchange !== '') await channel.bindQueue(queue.name, exchange, queue.routingKey ?? queue.name);
}

function declarationError(what: string, err: unknown): AmqpDeclarationError {
  const code = (err as { code?: number }).code;
  const text = err instanceof Error ? err.message : String(err);
  if (code === undefined) return new AmqpDeclarationError(`could not declare ${what}: ${text}`, code, { cause: err });
  const hint =
    code === 406
      ? ': it already exists with other properties; declare it exactly like the existing one ' +
        '(for Celery queues the same durable/auto_delete flags and x-max-priority as task_queue_max_priority), or delete it first'
      : code === 403
        ? ': the user lacks permission (or the name uses the reserved amq. prefix)'
        : '';
  return new AmqpDeclarationError(`RabbitMQ refused to declare ${what} (${text})${hint}`, code, { cause: err });
}

export class AmqpDeclarer {
  private channel?: Promise<Channel>;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly model: ChannelModel,
    private readonly logger: CeleryLogger,
  ) {}

  exchange(exchange: ExchangeDeclaration): Promise<void> {
    return this.serial(`exchange '${exchange.name}'`, (ch) => declareExchangeOn(ch, exchange));
  }

  queue(queue: QueueDeclaration): Promise<void> {
    return this.serial(`queue '${queue.name}'`, (ch) => declareQueueOn(ch, queue));
  }

  private serial(what: string, op: (channel: Channel) => Promise<void>): Promise<void> {
    const run = this.tail.then(async () => {
      const channel = await this.open();
      try {
        await op(channel);
      } catch (err) {
        throw declarationError(what, err);
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private open(): Promise<Channel> {
    if (!this.channel) {
      const opening = this.model.createChannel().then((ch) => {
        ch.on('error', (err: Error) => this.logger.debug?.(`declaration channel closed: ${err.message}`));
        ch.on('close', () => {
          if (this.channel === opening) this.channel = undefined;
        });
        return ch;
      });
      opening.catch(() => {
        if (this.channel === opening) this.channel = undefined;
      });
      this.channel = opening;
    }
    return this.channel;
  }
}
