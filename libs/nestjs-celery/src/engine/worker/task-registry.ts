// TaskRegistry: the worker's table of task names to handlers (Celery's app.tasks).
import type { SerializerName } from '../../protocol/serialization.js';
import { TaskSignature } from './task-arguments.js';
import type { TaskHandler, TaskOptions } from './task-context.js';

export interface RegisteredTask {
  name: string;
  handler: TaskHandler;
  options: TaskOptions;
}

const SERIALIZERS: readonly SerializerName[] = ['json', 'msgpack', 'yaml'];

/** A task's own queue and serializer are refused at registration when no send could use them. */
function checkTaskRouting(name: string, options: TaskOptions): void {
  if (options.queue !== undefined && (typeof options.queue !== 'string' || options.queue === '')) {
    throw new TypeError(`task "${name}": queue must be a non-empty queue name, got ${JSON.stringify(options.queue)}`);
  }
  if (options.serializer !== undefined && !SERIALIZERS.includes(options.serializer)) {
    throw new TypeError(`task "${name}": serializer must be one of ${SERIALIZERS.join(', ')}, got ${JSON.stringify(options.serializer)}`);
  }
}

/** Task name → handler (Celery's `app.tasks`). */
export class TaskRegistry {
  private readonly tasks = new Map<string, RegisteredTask>();

  /** With `options.params`, the stored handler binds args and kwargs to them first (task-arguments.ts). */
  register(name: string, handler: TaskHandler, options: TaskOptions = {}): void {
    if (this.tasks.has(name)) throw new Error(`task "${name}" is registered twice: task names must be unique per worker`);
    checkTaskRouting(name, options);
    if (options.params !== undefined) {
      const signature = new TaskSignature(name, options.params);
      const run = handler;
      handler = (args, kwargs, context) => run(signature.bind(args, kwargs), {}, context);
    }
    this.tasks.set(name, { name, handler, options });
  }

  /**
   * Celery's `time_limit` remote-control command: the task's own limits change for its next
   * runs (null: none of its own). False when no such task is registered.
   */
  setTimeLimits(name: string, soft: number | null, hard: number | null): boolean {
    const task = this.tasks.get(name);
    if (!task) return false;
    this.tasks.set(name, { ...task, options: { ...task.options, softTimeLimit: soft ?? undefined, timeLimit: hard ?? undefined } });
    return true;
  }

  get(name: string): RegisteredTask | undefined {
    return this.tasks.get(name);
  }

  names(): string[] {
    return [...this.tasks.keys()].sort();
  }
}
