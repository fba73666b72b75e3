/**
 * Task queues declared exactly as Python Celery 5.5/5.6 declares them for the same settings
 * (celery/app/amqp.py `Queues`: default queue, task_queues, missing queues), and the one clear
 * error naming the setting to change when an existing queue differs.
 */
import type { DeclarationMismatch, ExchangeType, QueueDeclaration, QueueType } from '../transport/broker.interface.js';
import { queueTypeOf } from '../transport/broker.interface.js';
import type { CeleryOptions } from './celery.options.js';
import { ImproperlyConfiguredError, QueueMismatchError } from './errors.js';

const QUEUE_TYPES: readonly string[] = ['classic', 'quorum'];
const EXCHANGE_TYPES: readonly string[] = ['direct', 'topic', 'fanout'];

function checkQueueType(setting: string, value: string | undefined): void {
  if (value !== undefined && !QUEUE_TYPES.includes(value)) {
    throw new ImproperlyConfiguredError(`${setting} must be 'classic' or 'quorum', got '${value}'`);
  }
}

function checkExchangeType(setting: string, value: string | undefined): void {
  if (value !== undefined && !EXCHANGE_TYPES.includes(value)) {
    throw new ImproperlyConfiguredError(`${setting} must be 'direct', 'topic' or 'fanout', got '${value}'`);
  }
}

/** Celery declares x-queue-type only for quorum: a classic queue carries no argument. */
const typeArguments = (type: QueueType | undefined): Record<string, unknown> => (type === 'quorum' ? { 'x-queue-type': 'quorum' } : {});

export class TaskQueues {
  private readonly configured: Record<string, NonNullable<CeleryOptions['taskQueues']>[string]>;
  /** every queue declared or routed to so far: Celery's `app.amqp.queues` */
  private readonly known = new Map<string, QueueDeclaration>();

  constructor(
    private readonly options: CeleryOptions,
    readonly defaultQueue: string,
  ) {
    checkQueueType('taskDefaultQueueType', options.taskDefaultQueueType);
    checkQueueType('taskCreateMissingQueueType', options.taskCreateMissingQueueType);
    checkQueueType('brokerNativeDelayedDeliveryQueueType', options.brokerNativeDelayedDeliveryQueueType);
    checkExchangeType('taskDefaultExchangeType', options.taskDefaultExchangeType);
    checkExchangeType('taskCreateMissingQueueExchangeType', options.taskCreateMissingQueueExchangeType);
    this.configured = options.taskQueues ?? {};
    for (const [name, q] of Object.entries(this.configured)) {
      checkQueueType(`taskQueues['${name}'].queueType`, q.queueType);
      checkExchangeType(`taskQueues['${name}'].exchangeType`, q.exchangeType);
      if (q.queueType === 'quorum' && q.durable === false) {
        throw new ImproperlyConfiguredError(`taskQueues['${name}']: a quorum queue is always durable; drop durable: false`);
      }
    }
    this.declaration(defaultQueue);
    for (const name of Object.keys(this.configured)) this.declaration(name);
  }

  /** The queue as Celery declares it; remembered as one of the app's queues. */
  declaration(name: string): QueueDeclaration {
    let queue = this.known.get(name);
    if (!queue) {
      queue = this.build(name);
      this.known.set(name, queue);
    }
    return queue;
  }

  private build(name: string): QueueDeclaration {
    const o = this.options;
    const q = this.configured[name];
    let type: QueueType | undefined;
    let exchangeType: ExchangeType;
    if (q) {
      type = q.queueType;
      exchangeType = q.exchangeType ?? o.taskDefaultExchangeType ?? 'direct';
    } else if (name === this.defaultQueue) {
      type = o.taskDefaultQueueType;
      exchangeType = o.taskDefaultExchangeType ?? 'direct';
    } else {
      // Queues.new_missing: kombu's Exchange(name) is direct unless told otherwise
      type = o.taskCreateMissingQueueType;
      exchangeType = o.taskCreateMissingQueueExchangeType ?? 'direct';
    }
    const args: Record<string, unknown> = { ...typeArguments(type), ...q?.arguments };
    const max = o.taskQueueMaxPriority;
    if (max !== undefined && max !== null && args['x-max-priority'] === undefined) args['x-max-priority'] = max;
    const passive = q?.noDeclare ?? o.taskQueueDeclaration === 'passive';
    return {
      name,
      exchange: q?.exchange ?? name,
      exchangeType,
      routingKey: q?.routingKey ?? name,
      durable: q?.durable ?? true,
      ...(q?.autoDelete ? { autoDelete: true } : {}),
      ...(Object.keys(args).length ? { arguments: args } : {}),
      ...(passive ? { passive: true } : {}),
    };
  }

  /** Celery's detect_quorum_queues (worker_detect_quorum_queues): a quorum queue among the app's. */
  get usesQuorumQueues(): boolean {
    if (this.options.workerDetectQuorumQueues === false) return false;
    for (const queue of this.known.values()) if (queueTypeOf(queue) === 'quorum') return true;
    return false;
  }

  get delayedDeliveryQueueType(): QueueType {
    return this.options.brokerNativeDelayedDeliveryQueueType ?? 'quorum';
  }

  /** The setting that decides `argument` of `queue`, in our option names (Celery's in brackets). */
  settingFor(queue: string, argument: string | undefined): string {
    const configured = this.configured[queue] !== undefined;
    const where = configured ? `taskQueues['${queue}']` : undefined;
    const isDefault = queue === this.defaultQueue;
    switch (argument) {
      case 'x-queue-type':
        return where
          ? `${where}.queueType`
          : isDefault
            ? 'taskDefaultQueueType (task_default_queue_type)'
            : 'taskCreateMissingQueueType (task_create_missing_queue_type)';
      case 'type':
        return where
          ? `${where}.exchangeType`
          : isDefault
            ? 'taskDefaultExchangeType (task_default_exchange_type)'
            : 'taskCreateMissingQueueExchangeType (task_create_missing_queue_exchange_type)';
      case 'x-max-priority':
        return where ? `${where}.arguments['x-max-priority'] or taskQueueMaxPriority` : 'taskQueueMaxPriority (task_queue_max_priority)';
      default:
        return where ? `${where} (durable, autoDelete, arguments)` : `taskQueues['${queue}']`;
    }
  }

  /** One clear error for a queue (or its exchange) that exists with other properties. */
  mismatchError(queue: QueueDeclaration, mismatch: DeclarationMismatch, cause: unknown): QueueMismatchError {
    const what = mismatch.entity === 'exchange' ? `the exchange '${mismatch.name}' of queue '${queue.name}'` : `queue '${queue.name}'`;
    const arg = mismatch.argument ? ` '${mismatch.argument}'` : '';
    return new QueueMismatchError(
      queue.name,
      `${what} already exists on the broker with another${arg || ' property'}: ${mismatch.existing}. ` +
        `We declared ${JSON.stringify(mismatch.declared)}. ` +
        `Set ${this.settingFor(queue.name, mismatch.argument)} to match the existing declaration, ` +
        `use it as it is with taskQueueDeclaration: 'passive' (or taskQueues['${queue.name}'].noDeclare), or delete it first`,
      { cause },
    );
  }
}
