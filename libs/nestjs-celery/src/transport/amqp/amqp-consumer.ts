/**
 * One consumer = one channel consuming one or more queues, each subscription with a per-consumer
 * prefetch window (basic.qos global=false: quorum queues and RabbitMQ 4.3 refuse global QoS), so a
 * worker never holds more messages than it can run. A window change re-subscribes on the same
 * channel with the new window, counting what earlier subscriptions still hold. Deliveries are
 * settled on the channel that delivered them; once that channel is gone, RabbitMQ has already
 * put the message back, settling is a no-op, and the deliveries' `lost` signal is aborted.
 */
import { setMaxListeners } from 'node:events';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { CeleryLogger } from '../../common/logger.js';
import type { ConsumeOptions, Consumer, Delivery, DeliveryHandler, DeliveryInfo } from '../broker.interface.js';
import type { TransportMessage } from '../../protocol/transport-message.js';
import { AmqpBrokerError } from './amqp-errors.js';
import { fromAmqpMessage } from './amqp-message.js';
import { unreadableHeaders } from './amqp-content-header.js';
import { DecodeError } from '../../protocol/errors.js';

/** What a consumer needs from its broker. */
export interface AmqpConsumerHost {
  readonly logger: CeleryLogger;
  /** the channel closed while the connection stayed up (server closed it, or it cancelled us) */
  consumerChannelLost(consumer: AmqpConsumer): void;
  /** the consumer was cancelled by its owner */
  consumerCancelled(consumer: AmqpConsumer): void;
}

/** One channel incarnation; deliveries keep the lease they arrived on. */
interface Lease {
  readonly model: ChannelModel;
  readonly channel: Channel;
  open: boolean;
  /** consuming on every queue; a loss after this point is worth a restart */
  started: boolean;
  /** unsettled deliveries on this channel */
  unsettled: number;
  /** the current subscriptions (one per queue); earlier ones were cancelled by a resize */
  consumerTags: string[];
  /** unsettled deliveries per subscription */
  readonly perTag: Map<string, number>;
  /** the per-consumer window the current subscriptions were started with (0: paused) */
  activePrefetch: number;
  /** delivery tags handed out and not settled by their owner yet, oldest first */
  readonly held: Set<number>;
  /** tags acked by their owner, not yet sent: one basic.ack covers those settled in the same job */
  pendingAcks: number[];
  flushScheduled: boolean;
  /** aborted once the channel is gone: RabbitMQ has taken back every delivery still unsettled on it */
  readonly lost: AbortController;
}

const DONE: Promise<void> = Promise.resolve();

/** The channel is gone (closed by either side, or its connection dropped): its deliveries are lost to us. */
function markLost(lease: Lease): void {
  lease.open = false;
  if (!lease.lost.signal.aborted) lease.lost.abort();
}

/** amqplib acks by `message.fields.deliveryTag`; a tag is all it reads. */
const tagged = (deliveryTag: number) => ({ fields: { deliveryTag } }) as ConsumeMessage;

class AmqpDelivery implements Delivery {
  private settled: boolean;
  transportError?: Error;

  constructor(
    readonly message: TransportMessage,
    readonly deliveryInfo: DeliveryInfo,
    private readonly consumer: AmqpConsumer,
    private readonly lease: Lease,
    private readonly raw: ConsumeMessage,
    noAck: boolean,
  ) {
    this.settled = noAck;
  }

  get lost(): AbortSignal {
    return this.lease.lost.signal;
  }

  ack(): Promise<void> {
    if (!this.settled) {
      this.settled = true;
      this.consumer.settle(this.lease, this.raw, true, false);
    }
    return DONE;
  }

  reject(requeue: boolean): Promise<void> {
    if (!this.settled) {
      this.settled = true;
      this.consumer.settle(this.lease, this.raw, false, requeue);
    }
    return DONE;
  }
}

export class AmqpConsumer implements Consumer {
  private lease?: Lease;
  private starting?: Promise<void>;
  private cancelled = false;
  private readonly noAck: boolean;
  /** the current window; setPrefetch() changes it (Celery's qos.increment_eventually) */
  private window: number;

  constructor(
    private readonly host: AmqpConsumerHost,
    readonly queues: readonly string[],
    readonly options: ConsumeOptions,
    private readonly handler: DeliveryHandler,
  ) {
    if (queues.length === 0) throw new AmqpBrokerError('consume() needs at least one queue name');
    if (!Number.isInteger(options.prefetch) || options.prefetch < 0 || options.prefetch > 0xffff) {
      throw new AmqpBrokerError(`prefetch must be an integer from 0 (unlimited) to 65535, got ${options.prefetch}`);
    }
    this.noAck = options.noAck === true;
    this.window = options.prefetch;
  }

  /**
   * Change the window while consuming. RabbitMQ applies a per-consumer basic.qos only to later
   * subscriptions, so the consumer re-subscribes (cancel, basic.qos, consume) on the same
   * channel; deliveries of the cancelled subscription stay valid and count against the window
   * until settled. Only consumers started with adjustablePrefetch.
   */
  setPrefetch(count: number): void {
    if (!this.options.adjustablePrefetch) {
      throw new AmqpBrokerError('setPrefetch() needs a consumer started with adjustablePrefetch: true');
    }
    const window = Math.min(Math.max(1, Math.trunc(count)), 0xffff);
    if (window === this.window) return;
    this.window = window;
    const lease = this.lease;
    if (lease?.started && !this.noAck) this.requestResize(lease);
  }

  private resizing = false;
  private resizeAgain = false;

  /** One resize at a time; changes made meanwhile are applied by one more round. */
  private requestResize(lease: Lease): void {
    if (this.resizing) {
      this.resizeAgain = true;
      return;
    }
    this.resizing = true;
    void this.resize(lease)
      .catch((err: Error) => this.host.logger.debug?.(`changing the prefetch window of ${this.describe()} failed: ${err.message}`))
      .finally(() => {
        this.resizing = false;
        const current = this.lease;
        if (this.resizeAgain && current) {
          this.resizeAgain = false;
          this.requestResize(current);
        }
      });
  }

  /** Deliveries still held by cancelled subscriptions. */
  private retiredUnsettled(lease: Lease): number {
    let active = 0;
    for (const tag of lease.consumerTags) active += lease.perTag.get(tag) ?? 0;
    return lease.unsettled - active;
  }

  private async resize(lease: Lease): Promise<void> {
    if (!lease.open || this.cancelled || this.lease !== lease) return;
    if (this.window - this.retiredUnsettled(lease) === lease.activePrefetch) return;
    // cancel first, so the old subscriptions cannot take more while the new ones start
    const old = lease.consumerTags;
    lease.consumerTags = [];
    for (const tag of old) await lease.channel.cancel(tag);
    const want = this.window - this.retiredUnsettled(lease);
    lease.activePrefetch = Math.max(0, want);
    // every slot is held by deliveries of cancelled subscriptions: resume as they settle
    if (want < 1 || !lease.open || this.cancelled) return;
    await lease.channel.prefetch(want, false);
    for (const queue of this.queues) {
      const ok = await lease.channel.consume(queue, (msg) => this.onMessage(lease, queue, msg), { noAck: false });
      lease.consumerTags.push(ok.consumerTag);
    }
  }

  get active(): boolean {
    return !this.cancelled;
  }

  /** Consume on `model` unless already consuming there (idempotent, single-flight). */
  start(model: ChannelModel): Promise<void> {
    if (this.cancelled) return DONE;
    if (this.lease?.open && this.lease.model === model) return DONE;
    if (!this.starting) {
      this.starting = this.open(model).finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  /** The connection is gone: its channel and unsettled deliveries went with it. */
  detach(): void {
    if (this.lease) markLost(this.lease);
    this.lease = undefined;
  }

  async cancel(): Promise<void> {
    if (this.cancelled) return;
    this.cancelled = true;
    this.host.consumerCancelled(this);
    const lease = this.lease;
    if (!lease?.open) return;
    // stop new deliveries but keep the channel while handed-out deliveries are unsettled
    try {
      await Promise.all(lease.consumerTags.map((tag) => lease.channel.cancel(tag)));
    } catch (err) {
      this.host.logger.debug?.(`cancelling consumer of ${this.queues.join(', ')}: ${(err as Error).message}`);
    }
    if (lease.unsettled === 0 || this.noAck) await this.closeLease(lease);
  }

  /** Broker shutdown: close the channel now; RabbitMQ requeues whatever is unsettled. */
  async shutdown(): Promise<void> {
    this.cancelled = true;
    const lease = this.lease;
    this.lease = undefined;
    if (lease?.open) await this.closeLease(lease);
  }

  /** @internal called by AmqpDelivery */
  settle(lease: Lease, raw: ConsumeMessage, ack: boolean, requeue: boolean): void {
    lease.unsettled--;
    const consumerTag = raw.fields.consumerTag;
    const left = (lease.perTag.get(consumerTag) ?? 1) - 1;
    if (left > 0) lease.perTag.set(consumerTag, left);
    else lease.perTag.delete(consumerTag);
    // a slot held by a cancelled subscription is free again: the current window can grow
    if (this.options.adjustablePrefetch && lease.open && !this.cancelled && !lease.consumerTags.includes(consumerTag)) this.requestResize(lease);
    if (!lease.open) {
      this.host.logger.debug?.(
        `${ack ? 'ack' : 'reject'} of delivery ${raw.fields.deliveryTag} from '${raw.fields.routingKey}' skipped: ` +
          'its channel is gone and RabbitMQ has requeued the message',
      );
      return;
    }
    const tag = raw.fields.deliveryTag;
    lease.held.delete(tag);
    if (ack) {
      lease.pendingAcks.push(tag);
      if (!lease.flushScheduled) {
        lease.flushScheduled = true;
        // at the end of the current job, not of the turn: acks settled together (one store batch's
        // tasks, a loop over deliveries) still share one frame, and RabbitMQ refills the window
        // without waiting for the rest of a busy turn (amqplib writes it out one setImmediate later)
        queueMicrotask(() => this.flushAcks(lease));
      }
    } else {
      try {
        lease.channel.reject(raw, requeue);
      } catch (err) {
        this.host.logger.debug?.(`settling delivery ${tag} failed: ${(err as Error).message}`);
      }
    }
    if (this.cancelled && lease.unsettled === 0) void this.closeLease(lease);
  }

  /**
   * Send the acks settled in one job (a microtask after the first): one `basic.ack multiple=true`
   * for every acked tag below the oldest delivery still held (nothing held is covered by it;
   * rejected tags are no longer outstanding at the broker), single acks for the acked tags above
   * it. One frame per batch of settles instead of one per message takes work off both RabbitMQ
   * and the event loop.
   */
  private flushAcks(lease: Lease): void {
    lease.flushScheduled = false;
    const tags = lease.pendingAcks;
    if (tags.length === 0) return;
    lease.pendingAcks = [];
    if (!lease.open) return; // the channel is gone: RabbitMQ has requeued these already
    // a channel's delivery tags only grow and `held` keeps insertion order: its first is its oldest
    const oldestHeld = lease.held.size > 0 ? (lease.held.values().next().value as number) : Number.POSITIVE_INFINITY;
    let upTo = -1;
    try {
      for (const t of tags) {
        if (t < oldestHeld) upTo = Math.max(upTo, t);
        else lease.channel.ack(tagged(t));
      }
      if (upTo >= 0) lease.channel.ack(tagged(upTo), true);
    } catch (err) {
      this.host.logger.debug?.(`acking ${tags.length} deliveries failed: ${(err as Error).message}`);
    }
  }

  private async open(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    const lease: Lease = {
      model,
      channel,
      open: true,
      started: false,
      unsettled: 0,
      consumerTags: [],
      perTag: new Map(),
      activePrefetch: this.window,
      held: new Set(),
      pendingAcks: [],
      flushScheduled: false,
      lost: new AbortController(),
    };
    // every held ETA task listens on it
    setMaxListeners(0, lease.lost.signal);
    channel.on('error', (err: Error) => this.host.logger.warn(`consumer channel for ${this.describe()} closed by RabbitMQ: ${err.message}`));
    channel.on('close', () => this.onChannelClosed(lease));
    try {
      // per consumer (global=false), as Celery on quorum queues and RabbitMQ 4: each queue's
      // subscription gets the window (RabbitMQ 4.3 refuses the per-channel global window)
      lease.activePrefetch = this.window;
      if (!this.noAck) await channel.prefetch(lease.activePrefetch, false);
      this.lease = lease;
      for (const queue of this.queues) {
        const ok = await channel.consume(queue, (msg) => this.onMessage(lease, queue, msg), { noAck: this.noAck });
        lease.consumerTags.push(ok.consumerTag);
      }
      lease.started = true;
      // deliveries that came while subscribing may have moved the window (ETA tasks set aside):
      // setPrefetch() could not resize a lease that was still starting, so catch up now
      if (this.options.adjustablePrefetch && !this.noAck && this.window !== lease.activePrefetch) this.requestResize(lease);
    } catch (err) {
      if (this.lease === lease) this.lease = undefined;
      await this.closeLease(lease);
      const hint = (err as { code?: number }).code === 404 ? '; declare the queue before consuming' : '';
      throw new AmqpBrokerError(`cannot consume from ${this.describe()}: ${(err as Error).message}${hint}`, { cause: err });
    }
    if (this.cancelled) await this.closeLease(lease);
  }

  private onMessage(lease: Lease, queue: string, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // basic.cancel from the server: the queue was deleted (or failed over)
      this.host.logger.warn(`RabbitMQ cancelled the consumer of queue '${queue}' (deleted?); restarting the consumer`);
      void this.closeLease(lease);
      return;
    }
    if (!this.noAck) {
      lease.unsettled++;
      lease.held.add(msg.fields.deliveryTag);
      lease.perTag.set(msg.fields.consumerTag, (lease.perTag.get(msg.fields.consumerTag) ?? 0) + 1);
    }
    const delivery = new AmqpDelivery(
      fromAmqpMessage(msg),
      {
        exchange: msg.fields.exchange,
        routingKey: msg.fields.routingKey,
        queue,
        redelivered: msg.fields.redelivered,
        deliveryTag: msg.fields.deliveryTag,
      },
      this,
      lease,
      msg,
      this.noAck,
    );
    const problem = msg.properties.headers ? unreadableHeaders.get(msg.properties.headers) : undefined;
    if (problem) {
      // read in part (see amqp-content-header.ts): the handler refuses it, the connection stays up
      const id = delivery.message.headers.id;
      delivery.transportError = new DecodeError(`unreadable AMQP message headers: ${problem}`, typeof id === 'string' ? id : undefined);
    }
    if (this.cancelled) {
      // in flight when we cancelled: give it back rather than start new work
      void delivery.reject(true);
      return;
    }
    try {
      this.handler(delivery);
    } catch (err) {
      this.host.logger.error(
        `delivery handler for ${this.describe()} threw (${(err as Error).message}); the message is rejected without requeue — ` +
          'handlers must settle deliveries themselves',
      );
      void delivery.reject(false);
    }
  }

  private onChannelClosed(lease: Lease): void {
    markLost(lease);
    if (this.lease !== lease) return;
    this.lease = undefined;
    if (lease.started && !this.cancelled) this.host.consumerChannelLost(this);
  }

  private async closeLease(lease: Lease): Promise<void> {
    if (!lease.open) return;
    // acks already given by their owners go out before the channel closes (else: redelivered)
    this.flushAcks(lease);
    markLost(lease);
    await lease.channel.close().catch(() => undefined);
  }

  private describe(): string {
    return this.queues.map((q) => `'${q}'`).join(', ');
  }
}
