// MemoryBroker: an in-process broker with AMQP semantics for `memory://` (tests and single-process apps).
import { BehaviorSubject } from 'rxjs';
import type {
  BrokerCapabilities,
  Broker,
  ConsumeOptions,
  Consumer,
  Delivery,
  DeliveryHandler,
  ExchangeDeclaration,
  ExchangeType,
  PublishRoute,
  QueueDeclaration,
  TransportMessage,
} from '../broker.interface.js';
import type { ConnectionStatus } from '../connection-status.js';
import { topicMatches } from '../topic-match.js';

interface QueuedMessage {
  message: TransportMessage;
  exchange: string;
  routingKey: string;
  redelivered: boolean;
  tag: number;
}

/**
 * A queue's waiting messages, FIFO. Taken from the head with an index rather than
 * Array#shift, which copies the whole array once it is large (a 50k-message backlog would make
 * draining quadratic).
 */
export class Backlog<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  /** The i-th waiting message (0 = next to be delivered). */
  at(i: number): T | undefined {
    return i >= 0 && i < this.length ? this.items[this.head + i] : undefined;
  }

  push(item: T): void {
    this.items.push(item);
  }

  unshift(item: T): void {
    if (this.head > 0) this.items[--this.head] = item;
    else this.items.unshift(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined as T;
    // drop the consumed prefix once it is most of the array
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Insert before the first waiting message that `before` holds for, else at the tail. */
  insertBefore(item: T, before: (waiting: T) => boolean): void {
    for (let i = this.head; i < this.items.length; i++) {
      if (before(this.items[i])) {
        this.items.splice(i, 0, item);
        return;
      }
    }
    this.items.push(item);
  }
}

interface MemoryQueue {
  name: string;
  maxPriority?: number;
  messages: Backlog<QueuedMessage>;
  consumers: MemoryConsumer[];
  /** round-robin position among consumers */
  next: number;
}

interface MemoryExchange {
  type: ExchangeType;
  bindings: { routingKey: string; queue: string }[];
}

/**
 * The state behind one `memory://<name>` URL: queues and exchanges shared by every
 * MemoryBroker connected to it in this process (a client and a worker in one app, or a test).
 */
export class MemoryVhost {
  private static readonly vhosts = new Map<string, MemoryVhost>();
  /** The vhost of `memory://<name>`, created on first use and shared in this process. */
  static named(name: string): MemoryVhost {
    let vhost = MemoryVhost.vhosts.get(name);
    if (!vhost) MemoryVhost.vhosts.set(name, (vhost = new MemoryVhost()));
    return vhost;
  }

  readonly queues = new Map<string, MemoryQueue>();
  readonly exchanges = new Map<string, MemoryExchange>();
  private tags = 0;

  /** The named queue, created empty on first use. */
  queue(name: string): MemoryQueue {
    let q = this.queues.get(name);
    if (!q) this.queues.set(name, (q = { name, messages: new Backlog<QueuedMessage>(), consumers: [], next: 0 }));
    return q;
  }

  /** Messages waiting in a queue (not delivered). For tests and inspection. */
  depth(name: string): number {
    return this.queues.get(name)?.messages.length ?? 0;
  }

  /** Put a message on a queue (at the front for a redelivery), in priority order when the queue has a max priority, and hand it to a consumer. */
  enqueue(queue: MemoryQueue, item: Omit<QueuedMessage, 'tag'>, front = false): void {
    const entry = { ...item, tag: ++this.tags };
    if (front) queue.messages.unshift(entry);
    else if (queue.maxPriority !== undefined) {
      // AMQP priority semantics: higher first, FIFO among equals.
      const p = Math.min(entry.message.properties.priority ?? 0, queue.maxPriority);
      queue.messages.insertBefore(entry, (m) => Math.min(m.message.properties.priority ?? 0, queue.maxPriority!) < p);
    } else queue.messages.push(entry);
    this.dispatch(queue);
  }

  /** The queues a publish reaches: the default exchange by queue name, else the exchange's bindings (direct, topic, fanout). */
  route(route: PublishRoute): string[] {
    if (route.exchange === '') return [route.routingKey];
    const exchange = this.exchanges.get(route.exchange);
    if (!exchange) return [];
    const matches = exchange.bindings.filter((b) => {
      if (exchange.type === 'fanout') return true;
      if (exchange.type === 'direct') return b.routingKey === route.routingKey;
      return topicMatches(b.routingKey, route.routingKey);
    });
    return [...new Set(matches.map((b) => b.queue))];
  }

  /** Deliver waiting messages to the queue's consumers, within each one's prefetch. */
  dispatch(queue: MemoryQueue): void {
    while (queue.messages.length > 0) {
      const consumer = this.pickConsumer(queue);
      if (!consumer) return;
      consumer.deliver(queue, queue.messages.shift()!);
    }
  }

  private pickConsumer(queue: MemoryQueue): MemoryConsumer | undefined {
    const n = queue.consumers.length;
    for (let i = 0; i < n; i++) {
      const c = queue.consumers[(queue.next + i) % n];
      if (c.hasCapacity()) {
        queue.next = (queue.next + i + 1) % n;
        return c;
      }
    }
    return undefined;
  }
}

class MemoryConsumer implements Consumer {
  private readonly unsettled = new Map<number, { queue: MemoryQueue; item: QueuedMessage }>();
  private cancelled = false;
  private prefetch: number;

  constructor(
    private readonly vhost: MemoryVhost,
    private readonly queues: MemoryQueue[],
    private readonly options: ConsumeOptions,
    private readonly onDelivery: DeliveryHandler,
  ) {
    this.prefetch = options.prefetch;
  }

  hasCapacity(): boolean {
    return !this.cancelled && (this.options.noAck || this.unsettled.size < this.prefetch);
  }

  setPrefetch(count: number): void {
    this.prefetch = Math.max(1, count);
    for (const q of this.queues) this.vhost.dispatch(q);
  }

  deliver(queue: MemoryQueue, item: QueuedMessage): void {
    if (!this.options.noAck) this.unsettled.set(item.tag, { queue, item });
    let settled = !!this.options.noAck;
    const settle = (requeue: boolean) => {
      // settled already, or given back when the connection closed (the queue owns it again)
      if (settled || !this.unsettled.has(item.tag)) return Promise.resolve();
      settled = true;
      this.unsettled.delete(item.tag);
      if (requeue) this.vhost.enqueue(queue, { ...item, redelivered: true }, true);
      // a freed slot may let this or another consumer take the next message
      for (const q of this.queues) this.vhost.dispatch(q);
      return Promise.resolve();
    };
    const delivery: Delivery = {
      message: item.message,
      deliveryInfo: {
        exchange: item.exchange,
        routingKey: item.routingKey,
        queue: queue.name,
        redelivered: item.redelivered,
        deliveryTag: item.tag,
      },
      ack: () => settle(false),
      reject: (requeue) => settle(requeue),
    };
    // deliver asynchronously, like a real broker: never re-enter the publisher's stack
    queueMicrotask(() => this.onDelivery(delivery));
  }

  async cancel(): Promise<void> {
    if (this.cancelled) return;
    this.cancelled = true;
    for (const q of this.queues) q.consumers = q.consumers.filter((c) => c !== this);
  }

  /** Connection closed: what this consumer held goes back to the head of its queue. */
  async abandon(): Promise<void> {
    await this.cancel();
    const held = [...this.unsettled.values()].sort((a, b) => b.item.tag - a.item.tag);
    this.unsettled.clear();
    for (const { queue, item } of held) this.vhost.enqueue(queue, { ...item, redelivered: true }, true);
  }
}

/**
 * In-process broker with AMQP semantics (exchanges, bindings, prefetch, ack/reject,
 * redelivery on close). `memory://` and `memory://<name>`; brokers with the same name share
 * queues. The embedded default and a test double users can rely on for their own tests.
 */
export class MemoryBroker implements Broker {
  readonly kind: string = 'memory';
  readonly capabilities: BrokerCapabilities = { topicExchanges: true, consumerTimeout: false, disablePrefetch: false, priorities: 'higher-first' };
  readonly vhost: MemoryVhost;
  private readonly status = new BehaviorSubject<ConnectionStatus>('connecting');
  readonly status$ = this.status.asObservable();
  private readonly consumers = new Set<MemoryConsumer>();

  constructor(url = 'memory://') {
    this.vhost = MemoryVhost.named(new URL(url).host || 'default');
  }

  async connect(): Promise<void> {
    this.status.next('connected');
  }

  async close(): Promise<void> {
    for (const c of this.consumers) await c.abandon();
    this.consumers.clear();
    this.status.next('closed');
  }

  async declareExchange(exchange: ExchangeDeclaration): Promise<void> {
    if (exchange.name === '') return;
    const existing = this.vhost.exchanges.get(exchange.name);
    if (!existing) this.vhost.exchanges.set(exchange.name, { type: exchange.type, bindings: [] });
  }

  async declareQueue(queue: QueueDeclaration): Promise<void> {
    const q = this.vhost.queue(queue.name);
    const maxPriority = queue.arguments?.['x-max-priority'];
    if (typeof maxPriority === 'number') q.maxPriority = maxPriority;
    const exchange = queue.exchange ?? queue.name;
    if (exchange === '') return;
    await this.declareExchange({ name: exchange, type: queue.exchangeType ?? 'direct' });
    const routingKey = queue.routingKey ?? queue.name;
    const ex = this.vhost.exchanges.get(exchange)!;
    if (!ex.bindings.some((b) => b.queue === queue.name && b.routingKey === routingKey)) {
      ex.bindings.push({ routingKey, queue: queue.name });
    }
  }

  async publish(message: TransportMessage, route: PublishRoute): Promise<void> {
    if (this.status.value !== 'connected') throw new Error('memory broker is not connected: call connect() first');
    for (const name of this.vhost.route(route)) {
      this.vhost.enqueue(this.vhost.queue(name), {
        message,
        exchange: route.exchange,
        routingKey: route.routingKey,
        redelivered: false,
      });
    }
  }

  async consume(queues: string[], options: ConsumeOptions, onDelivery: DeliveryHandler): Promise<Consumer> {
    const qs = queues.map((n) => this.vhost.queue(n));
    const consumer = new MemoryConsumer(this.vhost, qs, options, onDelivery);
    this.consumers.add(consumer);
    for (const q of qs) q.consumers.push(consumer);
    for (const q of qs) this.vhost.dispatch(q);
    return {
      cancel: async () => {
        this.consumers.delete(consumer);
        await consumer.cancel();
      },
      setPrefetch: (count) => consumer.setPrefetch(count),
    };
  }
}
