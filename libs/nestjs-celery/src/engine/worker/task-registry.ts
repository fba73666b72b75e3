// TaskRegistry: the worker's table of task names to handlers (Celery's app.tasks).
import { TaskSignature } from './task-arguments.js';
import type { TaskHandler, TaskOptions } from './task-context.js';

export interface RegisteredTask {
  name: string;
  handler: TaskHandler;
  options: TaskOptions;
}

/** Task name → handler (Celery's `app.tasks`). */
export class TaskRegistry {
  private readonly tasks = new Map<string, RegisteredTask>();

  /** With `options.params`, the stored handler binds args and kwargs to them first (task-arguments.ts). */
  register(name: string, handler: TaskHandler, options: TaskOptions = {}): void {
    if (this.tasks.has(name)) throw new Error(`task "${name}" is registered twice: task names must be unique per worker`);
    if (options.params !== undefined) {
      const signature = new TaskSignature(name, options.params);
      const run = handler;
      handler = (args, kwargs, context) => run(signature.bind(args, kwargs), {}, context);
    }
    this.tasks.set(name, { name, handler, options });
  }

  get(name: string): RegisteredTask | undefined {
    return this.tasks.get(name);
  }

  names(): string[] {
    return [...this.tasks.keys()].sort();
  }
}
