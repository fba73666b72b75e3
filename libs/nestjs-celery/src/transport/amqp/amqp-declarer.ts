/**
 * Queue and exchange declarations exactly as kombu makes them (kombu/entity.py `Queue.declare`:
 * exchange.declare, queue_declare, queue_bind), so RabbitMQ finds them equivalent to what
 * Python Celery declared and never answers PRECONDITION_FAILED.
 *
 * Declarations run one at a time on their own channel: a refused declaration closes the channel
 * it ran on, and must not take publishes, consumers or other declarations down with it.
 */
import type { Channel, ChannelModel } from 'amqplib';
import type { CeleryLogger } from '../../common/logger.js';
import type { DeclarationMismatch, ExchangeDeclaration, QueueDeclaration } from '../broker.interface.js';
import { QueueInUseError } from '../broker.errors.js';
import { AmqpDeclarationError } from './amqp-errors.js';
import { encodeAmqpTable } from './amqp-headers.js';
import type { ExchangeBinding } from './amqp-delayed-delivery.js';

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
  if (queue.passive) {
    await channel.checkQueue(queue.name);
    return;
  }
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

/** What we asked for, in the words RabbitMQ's 406 uses. */
function declaredProperties(queue: QueueDeclaration): Record<string, unknown> {
  return {
    durable: queue.durable ?? true,
    exclusive: queue.exclusive ?? false,
    auto_delete: queue.autoDelete ?? false,
    arguments: queue.arguments ?? {},
  };
}

/** A declaration RabbitMQ refused because the entity exists with other properties. */
export class AmqpDeclarationMismatchError extends AmqpDeclarationError {
  constructor(
    message: string,
    readonly mismatch: DeclarationMismatch,
    options?: { cause?: unknown },
  ) {
    super(message, 406, options);
  }
}

/** "inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received 'classic' but current is 'quorum'" */
function readMismatch(text: string, entity: 'queue' | 'exchange', name: string, declared: Record<string, unknown>): DeclarationMismatch {
  const arg = /inequivalent arg '([^']+)'/.exec(text)?.[1];
  const existing = (/in vhost '[^']*': (.*)$/.exec(text)?.[1] ?? text).replace(/"$/, '');
  return { entity, name, argument: arg, declared, existing };
}

function declarationError(what: string, err: unknown, target?: { entity: 'queue' | 'exchange'; name: string; declared: Record<string, unknown> }): Error {
  const code = (err as { code?: number }).code;
  const text = err instanceof Error ? err.message : String(err);
  if (code === undefined) return new AmqpDeclarationError(`could not declare ${what}: ${text}`, code, { cause: err });
  if (code === 405 && target?.entity === 'queue') {
    return new QueueInUseError(
      target.name,
      `RabbitMQ refused ${what} (${text}): it is exclusive to another connection, e.g. a process under the same node name ` +
        'that has just stopped; RabbitMQ releases it once that connection is closed',
      { cause: err },
    );
  }
  if (code === 406 && target && /inequivalent arg/.test(text)) {
    const mismatch = readMismatch(text, target.entity, target.name, target.declared);
    return new AmqpDeclarationMismatchError(
      `RabbitMQ refused to declare ${what}: it already exists with another '${mismatch.argument}' (${mismatch.existing}); ` +
        `we declared ${JSON.stringify(target.declared)}. declare it exactly like the existing one, or delete it first`,
      mismatch,
      { cause: err },
    );
  }
  const hint =
    code === 406
      ? ': it already exists with other properties; declare it exactly like the existing one ' +
        '(for Celery queues the same durable/auto_delete flags and x-max-priority as task_queue_max_priority), or delete it first'
      : code === 403
        ? ': the user lacks permission (or the name uses the reserved amq. prefix)'
        : code === 404
          ? ': it does not exist; a passive queue must be declared by its owner first (or declare it: drop passive/noDeclare)'
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
    return this.serial(`exchange '${exchange.name}'`, (ch) => declareExchangeOn(ch, exchange), {
      entity: 'exchange',
      name: exchange.name,
      declared: { type: exchange.type, durable: exchange.durable ?? true, auto_delete: exchange.autoDelete ?? false },
    });
  }

  async queue(queue: QueueDeclaration): Promise<void> {
    const what = queue.passive ? `queue '${queue.name}' (passive: use the existing queue)` : `queue '${queue.name}'`;
    const exchange = queueExchangeName(queue);
    // its exchange on its own, so a refusal names the exchange and what we declared for it
    if (!queue.passive && exchange !== '') {
      await this.exchange({ name: exchange, type: queue.exchangeType ?? 'direct', durable: queue.exchangeDurable ?? true });
    }
    return this.serial(what, (ch) => declareQueueOn(ch, queue), { entity: 'queue', name: queue.name, declared: declaredProperties(queue) });
  }

  /** queue.bind with a key of our choosing (the queue's own binding is part of queue()) */
  queueBinding(queue: string, exchange: string, routingKey: string): Promise<void> {
    return this.serial(`the binding of queue '${queue}' to '${exchange}'`, (ch) => ch.bindQueue(queue, exchange, routingKey).then(() => undefined));
  }

  /** exchange.bind: messages reaching `source` with a matching key go on to `destination` */
  exchangeBinding(binding: ExchangeBinding): Promise<void> {
    return this.serial(`the binding of exchange '${binding.destination}' to '${binding.source}'`, (ch) =>
      ch.bindExchange(binding.destination, binding.source, binding.routingKey).then(() => undefined),
    );
  }

  private serial(what: string, op: (channel: Channel) => Promise<void>, target?: Parameters<typeof declarationError>[2]): Promise<void> {
    const run = this.tail.then(async () => {
      const channel = await this.open();
      try {
        await op(channel);
      } catch (err) {
        throw declarationError(what, err, target);
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
