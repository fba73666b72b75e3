/**
 * One consumer on kombu's Redis transport: list queues through an atomic pop-and-record script
 * and BRPOP (kombu `_brpop_start`/`_brpop_read`), fanout queues through PSUBSCRIBE
 * (kombu `_subscribe`/`_receive_one`), with kombu's client-side prefetch (`QoS.can_consume`).
 */
import type { HeaderLimits } from '../../../protocol/nesting.js';
import type { Redis } from 'ioredis';
import type { CeleryLogger } from '../../../common/logger.js';
import { decodeEnvelope, type DecodedEnvelope } from '../../../protocol/kombu-envelope.js';
import type { ConsumeOptions, Consumer, Delivery, DeliveryHandler, DeliveryInfo } from '../../broker.interface.js';
import { PRIORITY_STEPS, type KombuKeys } from './redis-keys.js';
import type { KombuAckEmulation } from './redis-unacked.js';
import { kombuScripts, type KombuScripts } from './redis-scripts.js';

/** Most messages one atomic pop takes when prefetch allows many (or is unlimited). */
const MAX_BATCH = 100;

export interface ConsumerContext {
  main: Redis;
  keys: KombuKeys;
  ackEmulation: KombuAckEmulation;
  logger: CeleryLogger;
  pollTimeoutSeconds: number;
  /**
   * How often the unacked_index score of every delivery this consumer still holds is brought
   * to now (0: never), so that neither we nor a Python worker restore a message a live consumer
   * holds on purpose (an ETA task waiting for its time) once the visibility timeout passes.
   */
  heldRefreshMs?: number;
  /** new connection for this consumer (blocking pops, or pub/sub) */
  connect(role: string): Promise<Redis>;
  /** bounds on envelope headers (maxHeaderDepth, maxHeaderValues); over them the message is refused */
  headerLimits?: HeaderLimits;
}

interface FanoutQueue {
  queue: string;
  exchange: string;
  bindingKey: string;
}

const DONE: Promise<void> = Promise.resolve();

/** A broadcast's ack and reject: it was settled on arrival. */
const settledAlready = (): Promise<void> => DONE;

function deliveryInfoOf(queue: string, decoded: DecodedEnvelope): DeliveryInfo {
  return {
    exchange: decoded.deliveryInfo.exchange,
    routingKey: decoded.deliveryInfo.routingKey,
    queue,
    redelivered: decoded.deliveryInfo.redelivered,
    deliveryTag: decoded.deliveryTag,
  };
}

/**
 * A delivery from a list queue. Its state lives on the object (no closures per message); `tag`
 * is its entry in kombu's unacked hash (undefined: none, e.g. without acks), `recording` the
 * write of that entry when the atomic pop could not make it.
 */
class RedisDelivery implements Delivery {
  readonly message: DecodedEnvelope['message'];
  readonly deliveryInfo: DeliveryInfo;
  transportError?: Error;
  private done: boolean;

  constructor(
    private readonly consumer: RedisConsumer,
    private readonly queue: string,
    private readonly raw: string,
    decoded: DecodedEnvelope,
    readonly tag: string | undefined,
    /** resolves false when the unacked entry could not be written (then only `raw` can requeue it) */
    private readonly recording: Promise<boolean> | undefined,
  ) {
    this.message = decoded.message;
    this.deliveryInfo = deliveryInfoOf(queue, decoded);
    if (decoded.error) this.transportError = decoded.error;
    this.done = consumer.noAck;
  }

  /** Mark settled; false when it was already (or never needed settling: no ack). */
  settle(): boolean {
    if (this.done) return false;
    this.done = true;
    this.consumer.settled(this);
    return true;
  }

  ack(): Promise<void> {
    if (!this.settle() || this.tag === undefined) return DONE;
    const tag = this.tag;
    const acked = this.recording ? this.recording.then(() => this.ackTag(tag)) : this.ackTag(tag);
    return this.consumer.settling(acked);
  }

  private ackTag(tag: string): Promise<void> {
    return this.consumer.ctx.ackEmulation.ack(tag).catch((err: Error) => {
      // not silent: the entry stays in the unacked hash and is restored (run again) after the visibility timeout
      this.consumer.ctx.logger.error(
        `ack of delivery ${tag} failed (${err.message}): it stays in kombu's unacked hash and is redelivered after the visibility timeout`,
      );
      throw err;
    });
  }

  reject(requeue: boolean): Promise<void> {
    if (!this.settle()) return DONE;
    return this.consumer.settling(this.rejectNow(requeue));
  }

  private async rejectNow(requeue: boolean): Promise<void> {
    const { tag, consumer } = this;
    const emulation = consumer.ctx.ackEmulation;
    // a delivery whose unacked entry was never written cannot be restored by tag: push it back as it came
    const recorded = (await this.recording) !== false;
    if (tag !== undefined && recorded) {
      // kombu QoS.reject: restore to the far end (LPUSH), then ack. The restore already drops
      // the unacked entry atomically; acking after it could delete the entry of the same tag
      // recorded again by whoever popped the restored message meanwhile (it would be lost).
      if (requeue) await emulation.restoreByTag(tag, true);
      else await emulation.ack(tag);
    } else if (requeue) {
      await consumer.ctx.main.lpush(consumer.ctx.keys.queue(this.queue), this.raw);
    } else if (tag !== undefined) {
      await emulation.ack(tag);
    }
  }
}

export class RedisConsumer implements Consumer {
  /** kombu's round_robin_cycle: the queue just served moves to the end */
  private readonly cycle: string[];
  /** @internal */
  readonly noAck: boolean;
  private readonly held = new Set<RedisDelivery>();
  private readonly inFlight = new Set<Promise<void>>();
  private unsettled = 0;
  private prefetch: number;
  private refreshTimer?: NodeJS.Timeout;
  private cancelled = false;
  private blocking?: Redis;
  private blockingScripts?: KombuScripts;
  private blockingId?: number;
  private inBrpop = false;
  private subscriber?: Redis;
  private loop?: Promise<void>;
  private wake?: () => void;

  constructor(
    /** @internal */
    readonly ctx: ConsumerContext,
    listQueues: string[],
    private readonly fanoutQueues: FanoutQueue[],
    private readonly options: ConsumeOptions,
    private readonly onDelivery: DeliveryHandler,
  ) {
    this.cycle = [...new Set(listQueues)];
    this.noAck = !!options.noAck;
    this.prefetch = options.prefetch;
  }

  /** kombu's client-side QoS window, changed while consuming (Celery's qos.increment_eventually). */
  setPrefetch(count: number): void {
    this.prefetch = Math.max(1, count);
    this.wake?.();
  }

  /** true when this consumer records its deliveries in kombu's unacked hash */
  get acks(): boolean {
    return !this.noAck && this.cycle.length > 0;
  }

  async start(): Promise<void> {
    if (this.fanoutQueues.length) await this.subscribe();
    if (this.cycle.length) {
      this.blocking = await this.ctx.connect('consumer');
      this.blocking.on('ready', () => (this.blockingId = undefined));
      this.blockingScripts = kombuScripts(this.blocking);
      this.loop = this.run();
      if (this.acks && this.ctx.heldRefreshMs) {
        this.refreshTimer = setInterval(() => void this.refreshHeld(), this.ctx.heldRefreshMs);
        this.refreshTimer.unref();
      }
    }
  }

  /**
   * Keep what we hold from being restored by a visibility-timeout sweep while we are alive:
   * kombu would redeliver an ETA task held longer than the timeout, and the task would run twice.
   * A consumer that dies stops refreshing, so its deliveries are restored as before.
   */
  private async refreshHeld(): Promise<void> {
    if (this.held.size === 0) return;
    try {
      await this.ctx.ackEmulation.touch([...this.held].map((h) => h.tag as string));
    } catch (err) {
      this.ctx.logger.warn(`could not refresh the unacked_index of held deliveries: ${(err as Error).message}`);
    }
  }

  /** true while deliveries it handed out are unsettled (a cancelled consumer is kept until then) */
  get holding(): boolean {
    return this.held.size > 0;
  }

  /**
   * Stop receiving. Deliveries already handed out stay valid (and refreshed) until settled, or
   * until the broker closes and restores them (restoreHeld).
   */
  async cancel(): Promise<void> {
    if (this.cancelled) return;
    this.cancelled = true;
    if (!this.holding) this.stopRefresh();
    this.wake?.();
    if (this.subscriber) this.subscriber.disconnect();
    if (this.blocking) {
      // CLIENT UNBLOCK makes a pending BRPOP return nil at once, atomically: nothing is lost
      // (retried briefly: the BRPOP may not have reached the server yet; else it times out)
      for (let i = 0; i < 20 && this.inBrpop && this.blockingId !== undefined; i++) {
        const unblocked = await this.ctx.main.client('UNBLOCK', this.blockingId).catch(() => 0);
        if (unblocked === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await this.loop;
      this.blocking.disconnect();
    }
  }

  /**
   * The channel is closing (kombu `restore_unacked_once`): every delivery still held goes back
   * to its queue; a later ack/reject of it is a no-op.
   */
  async restoreHeld(): Promise<number> {
    this.stopRefresh();
    let restored = 0;
    for (const held of [...this.held]) {
      if (!held.settle()) continue;
      try {
        if (await this.ctx.ackEmulation.restoreByTag(held.tag as string)) restored++;
      } catch (err) {
        this.ctx.logger.error(`could not restore unacknowledged message ${held.tag} at close: ${(err as Error).message}`);
      }
    }
    return restored;
  }

  private stopRefresh(): void {
    clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
  }

  private freeSlots(): number {
    if (this.noAck || !this.prefetch) return MAX_BATCH;
    return this.prefetch - this.unsettled;
  }

  private async run(): Promise<void> {
    let backoff = 0;
    while (!this.cancelled) {
      try {
        const free = this.freeSlots();
        if (free <= 0) {
          await new Promise<void>((resolve) => (this.wake = resolve));
          this.wake = undefined;
          continue;
        }
        if ((await this.popBatch(Math.min(free, MAX_BATCH))) === 0 && !this.cancelled) await this.brpop();
        backoff = 0;
      } catch (err) {
        if (this.cancelled) break;
        backoff = Math.min(backoff ? backoff * 2 : 100, 5000);
        this.ctx.logger.warn(`consuming from ${this.cycle.join(', ')} failed (${(err as Error).message}); retrying in ${backoff} ms`);
        await new Promise((resolve) => setTimeout(resolve, backoff));
      }
    }
  }

  /** Take what is waiting, recording each message in the unacked hash in the same atomic step. */
  private async popBatch(max: number): Promise<number> {
    const snapshot = [...this.cycle];
    const keys = [this.ctx.keys.unacked, this.ctx.keys.unackedIndex, ...this.ctx.keys.brpopKeys(snapshot)];
    const out = await this.blockingScripts!.popAndRecord(keys, max, !this.noAck, snapshot.length, PRIORITY_STEPS.length);
    for (let i = 0; i < out.length; i += 3) {
      const queue = snapshot[Number(out[i]) - 1];
      this.rotate(queue);
      this.handle(queue, out[i + 1], out[i + 2]);
    }
    return out.length / 3;
  }

  /**
   * Nothing waiting: block like kombu (BRPOP over every key, priority-major, 1 s). The message
   * that wakes an idle consumer is recorded right after the pop, exactly as kombu does.
   */
  private async brpop(): Promise<void> {
    const blocking = this.blocking!;
    if (this.blockingId === undefined) this.blockingId = Number(await blocking.client('ID'));
    if (this.cancelled) return;
    this.inBrpop = true;
    let reply: [string, string] | null;
    try {
      reply = await blocking.brpop(...this.ctx.keys.brpopKeys(this.cycle), this.ctx.pollTimeoutSeconds);
    } finally {
      this.inBrpop = false;
    }
    if (!reply) return;
    const queue = this.ctx.keys.queueOfKey(reply[0]);
    this.rotate(queue);
    this.handle(queue, reply[1], '');
  }

  private rotate(queue: string): void {
    const at = this.cycle.indexOf(queue);
    // already last (always, with one queue): nothing moves, and no array is spliced per message
    if (at >= 0 && at < this.cycle.length - 1) this.cycle.push(...this.cycle.splice(at, 1));
  }

  private handle(queue: string, raw: string, recordedTag: string): void {
    let decoded: DecodedEnvelope;
    try {
      decoded = decodeEnvelope(raw, this.options.maxMessageBytes, this.ctx.headerLimits);
    } catch (err) {
      // kombu would raise in the event loop and lose it the same way; say so loudly
      this.ctx.logger.error(
        `dropped a message from queue "${queue}" that is not a kombu envelope: ${(err as Error).message}. ` +
          `Only kombu-compatible producers should push to this list.`,
      );
      if (recordedTag) void this.ctx.ackEmulation.ack(recordedTag).catch(() => undefined);
      return;
    }
    let tag: string | undefined = recordedTag || undefined;
    /** resolves false when the unacked entry could not be written (then only `raw` can requeue it) */
    let recording: Promise<boolean> | undefined;
    if (!this.noAck && !tag && decoded.deliveryTag !== undefined) {
      const { exchange, routingKey } = decoded.deliveryInfo;
      // restore routes by exchange/routing key; an envelope without them goes back to this queue
      const rk = exchange || routingKey ? routingKey : queue;
      tag = decoded.deliveryTag;
      // kombu records before the callback; we pipeline it on the main connection instead, so the
      // delivery is not held up by a round trip, and settle only after it (same order either way)
      recording = this.ctx.ackEmulation.record(tag, raw, exchange, rk).then(
        () => true,
        (err: Error) => {
          this.ctx.logger.error(
            `could not record delivery ${decoded.deliveryTag} in kombu's unacked hash (${err.message}); ` +
              `it is lost if this process dies before settling it`,
          );
          return false;
        },
      );
    }
    this.deliver(queue, raw, decoded, tag, recording);
  }

  private deliver(queue: string, raw: string, decoded: DecodedEnvelope, tag: string | undefined, recording?: Promise<boolean>): void {
    const delivery = new RedisDelivery(this, queue, raw, decoded, tag, recording);
    if (!this.noAck) {
      this.unsettled++;
      if (tag !== undefined) this.held.add(delivery);
    }
    this.dispatch(queue, delivery);
  }

  /** @internal RedisDelivery: the delivery was just settled (called once per delivery). */
  settled(delivery: RedisDelivery): void {
    this.unsettled--;
    this.held.delete(delivery);
    if (this.cancelled && !this.holding) this.stopRefresh();
    this.wake?.();
  }

  /** @internal RedisDelivery: track an ack/reject in flight so close() lets it reach Redis before quitting. */
  settling(done: Promise<void>): Promise<void> {
    this.inFlight.add(done);
    const forget = () => this.inFlight.delete(done);
    done.then(forget, forget);
    return done;
  }

  /** Wait for every ack/reject already called to reach Redis. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private dispatch(queue: string, delivery: Delivery): void {
    try {
      this.onDelivery(delivery);
    } catch (err) {
      this.ctx.logger.error(`delivery handler for queue "${queue}" threw: ${(err as Error).message}`);
    }
  }

  private async subscribe(): Promise<void> {
    const byExchange = new Map<string, string>();
    for (const f of this.fanoutQueues) byExchange.set(f.exchange, f.queue);
    const sub = (this.subscriber = await this.ctx.connect('fanout'));
    sub.on('pmessage', (_pattern: string, channel: string, data: string) => {
      const exchange = this.ctx.keys.exchangeOfChannel(channel);
      const queue = byExchange.get(exchange);
      if (queue === undefined || this.cancelled) return;
      let decoded: DecodedEnvelope;
      try {
        decoded = decodeEnvelope(data, this.options.maxMessageBytes, this.ctx.headerLimits);
      } catch (err) {
        this.ctx.logger.warn(`cannot process broadcast on channel "${channel}": ${(err as Error).message}`);
        return;
      }
      // broadcasts are never stored, so they are settled on arrival (kombu consumes them no_ack)
      const delivery: Delivery = { message: decoded.message, deliveryInfo: deliveryInfoOf(queue, decoded), ack: settledAlready, reject: settledAlready };
      if (decoded.error) delivery.transportError = decoded.error;
      this.dispatch(queue, delivery);
    });
    await sub.psubscribe(...this.fanoutQueues.map((f) => this.ctx.keys.fanoutPattern(f.exchange, f.bindingKey)));
  }
}
