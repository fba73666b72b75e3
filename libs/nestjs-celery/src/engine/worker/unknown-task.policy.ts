/**
 * What a worker does with a message for a task it has no handler for. Nothing is dropped
 * silently: every fate is logged, and only `reject` ends the task.
 *
 * - `reject` (Celery's behaviour, celery/worker/consumer/consumer.py `on_unknown_task`):
 *   FAILURE NotRegistered is stored and the message rejected without requeue (a RabbitMQ
 *   dead-letter exchange on the queue receives it, if configured).
 * - `requeue`: the message goes back to the queue for a worker that has the task (queues shared
 *   with other workers). To keep one message from bouncing hot between the broker and workers
 *   that lack the task, each further sighting of the same task id is held a little longer before
 *   it is requeued (doubling from `initialMs` to `maxMs`); while held it does not count against
 *   the prefetch window, so runnable tasks keep flowing.
 * - `dead-letter`: the message is republished unchanged (plus an `x-dead-letter-reason` header)
 *   to a dead-letter queue, `<queue>.dead-letter` unless named, and acked. No state is stored:
 *   the task is parked, not failed, and can be replayed once a worker has it.
 */
import type { CeleryLogger } from '../../common/logger.js';
import type { TaskRequest } from '../../protocol/task-message.js';
import type { Delivery } from '../../transport/broker.interface.js';
import type { Celery } from '../celery.js';
import type { PrefetchWindow } from './prefetch-window.js';

/** What a worker does with a message for a task it does not know: reject it (as Celery), requeue it, or dead-letter it. */
export type UnknownTaskPolicyName = 'reject' | 'requeue' | 'dead-letter';

export interface UnknownTaskOptions {
  /** default 'reject' (Celery's) */
  unknownTask?: UnknownTaskPolicyName;
  /** dead-letter queue; default `<the queue it came from>.dead-letter` */
  deadLetterQueue?: string;
  /** requeue policy: hold before requeueing a task id seen again, doubling (default 100 ms → 10 s) */
  unknownTaskBackoffMs?: { initialMs?: number; maxMs?: number };
}

/** How the policy stores FAILURE NotRegistered (the worker's store, with its retries). */
export type StoreNotRegistered = (request: TaskRequest) => Promise<boolean>;

/** Task ids remembered for the requeue backoff; the oldest are forgotten first. */
const REMEMBERED_IDS = 10_000;

export class UnknownTaskPolicy {
  readonly name: UnknownTaskPolicyName;
  private readonly sightings = new Map<string, number>();
  private readonly held = new Set<{ timer: NodeJS.Timeout; requeue: () => Promise<void> }>();

  constructor(
    private readonly app: Celery,
    private readonly window: PrefetchWindow,
    private readonly logger: CeleryLogger,
    private readonly options: UnknownTaskOptions,
    private readonly storeNotRegistered: StoreNotRegistered,
    private readonly describe: () => string,
  ) {
    this.name = options.unknownTask ?? 'reject';
  }

  async handle(delivery: Delivery, request: TaskRequest): Promise<void> {
    const where = `unregistered task "${request.task}" (id ${request.id}) from queue "${delivery.deliveryInfo.queue}"`;
    if (this.name === 'requeue') return this.requeue(delivery, request, where);
    if (this.name === 'dead-letter') return this.deadLetter(delivery, request, where);
    const stored = await this.storeNotRegistered(request);
    this.logger.error(`${where}: ${stored ? 'stored FAILURE NotRegistered and ' : ''}rejected; ${this.describe()}`);
    await delivery.reject(false);
  }

  /** Worker stop: messages waiting to be requeued go back now. */
  async releaseAll(): Promise<void> {
    const entries = [...this.held];
    this.held.clear();
    for (const entry of entries) {
      clearTimeout(entry.timer);
      await entry.requeue();
    }
  }

  private async requeue(delivery: Delivery, request: TaskRequest, where: string): Promise<void> {
    const seen = this.sighting(request.id);
    const { initialMs = 100, maxMs = 10_000 } = this.options.unknownTaskBackoffMs ?? {};
    const delay = seen === 1 ? 0 : Math.min(maxMs, initialMs * 2 ** (seen - 2));
    // one line at the first sighting and at each doubling after, not one per bounce
    if ((seen & (seen - 1)) === 0) {
      this.logger.warn(`${where}: requeued for a worker that has it (seen ${seen} time(s) here${delay ? `, held ${delay} ms first` : ''}); ${this.describe()}`);
    }
    if (delay === 0) return delivery.reject(true);
    const countAgain = this.window.setAside();
    await new Promise<void>((resolve) => {
      const entry = {
        timer: setTimeout(() => void entry.requeue(), delay),
        requeue: async () => {
          this.held.delete(entry);
          countAgain();
          await delivery.reject(true).catch(() => undefined);
          resolve();
        },
      };
      this.held.add(entry);
    });
  }

  private async deadLetter(delivery: Delivery, request: TaskRequest, where: string): Promise<void> {
    const queue = this.options.deadLetterQueue ?? `${delivery.deliveryInfo.queue}.dead-letter`;
    const { message } = delivery;
    try {
      await this.app.declareQueue(queue);
      await this.app.publishDirect(
        `task ${request.task} to its dead-letter queue`,
        {
          ...message,
          headers: {
            ...message.headers,
            'x-dead-letter-reason': `NotRegistered: no worker on queue "${delivery.deliveryInfo.queue}" has task "${request.task}"`,
          },
        },
        { exchange: '', routingKey: queue },
      );
    } catch (error) {
      this.logger.error(`${where}: could not move it to dead-letter queue "${queue}" (${(error as Error)?.message ?? error}); requeued instead`);
      return this.requeue(delivery, request, where);
    }
    this.logger.error(`${where}: moved to dead-letter queue "${queue}"; ${this.describe()}`);
    await delivery.ack();
  }

  private sighting(id: string): number {
    const seen = (this.sightings.get(id) ?? 0) + 1;
    this.sightings.delete(id);
    this.sightings.set(id, seen);
    if (this.sightings.size > REMEMBERED_IDS) this.sightings.delete(this.sightings.keys().next().value as string);
    return seen;
  }
}
