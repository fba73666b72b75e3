// @CeleryProcessor: a class decorator grouping a class's @CeleryTask methods under a task-name prefix
// with task options they share (queue, serializer, retries, time limits, acks …); a method's own options win.
import { SetMetadata } from '@nestjs/common';
import { CELERY_PROCESSOR_METADATA } from './celery.constants.js';
import type { CeleryTaskOptions } from './celery-task.decorator.js';

/** What `@CeleryProcessor` takes and stores on the class. */
export interface CeleryProcessorOptions extends CeleryTaskOptions {
  /**
   * Prepended with a dot to the name of every `@CeleryTask('name')` method of the class
   * (`'billing'` + `'charge'` → `'billing.charge'`), as Celery names tasks after their module.
   * A method decorated with a contract keeps the contract's name: the contract is the wire name.
   */
  prefix?: string;
}

/**
 * Groups a provider's or controller's `@CeleryTask` methods (like @nestjs/bullmq's `@Processor`):
 * their names get `prefix.` in front, and `options` are the defaults of every one of them; a
 * method's own `@CeleryTask` options override them key by key. Discovery is unchanged: the class
 * is still found as a provider or controller of the app.
 *
 * `queue` and `serializer` are Celery's task attributes: this app's clients send the tasks to that
 * queue, encoded so, unless the send (or the task's contract) says otherwise, above task_routes;
 * the module's worker consumes the queue unless its `queues` are set explicitly.
 *
 *   @CeleryProcessor('billing', { queue: 'billing', serializer: 'msgpack', maxRetries: 5, timeLimit: 30 })
 *   class BillingTasks { @CeleryTask('charge', { timeLimit: 60 }) charge(id: string) { … } }   // 'billing.charge'
 */
export function CeleryProcessor(prefix?: string, options?: CeleryTaskOptions): ClassDecorator;
export function CeleryProcessor(options: CeleryProcessorOptions): ClassDecorator;
export function CeleryProcessor(prefixOrOptions?: string | CeleryProcessorOptions, options: CeleryTaskOptions = {}): ClassDecorator {
  const metadata: CeleryProcessorOptions = typeof prefixOrOptions === 'object' ? { ...prefixOrOptions } : { ...options, prefix: prefixOrOptions };
  if (metadata.prefix === undefined) delete metadata.prefix;
  else if (typeof metadata.prefix !== 'string' || !/^[^.\s]+(\.[^.\s]+)*$/.test(metadata.prefix)) {
    throw new TypeError(
      `@CeleryProcessor(prefix): the prefix must be a dotted name without spaces, e.g. "billing" or "shop.billing" (got ${JSON.stringify(metadata.prefix)})`,
    );
  }
  return SetMetadata(CELERY_PROCESSOR_METADATA, metadata);
}
