import type { TaskHandler, TaskOptions } from './task-context.js';

export interface RegisteredTask {
  name: string;
  handler: TaskHandler;
  options: TaskOptions;
}

/** Task name → handler (Celery's `app.tasks`). */
export class TaskRegistry {
  private readonly tasks = new Map<string, RegisteredTask>();

  register(name: string, handler: TaskHandler, options: TaskOptions = {}): void {
    if (this.tasks.has(name)) throw new Error(`task "${name}" is registered twice: task names must be unique per worker`);
    this.tasks.set(name, { name, handler, options });
  }

  get(name: string): RegisteredTask | undefined {
    return this.tasks.get(name);
  }

  names(): string[] {
    return [...this.tasks.keys()].sort();
  }
}
