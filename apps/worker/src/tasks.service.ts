import { Injectable } from '@nestjs/common';
import { Args, CeleryTask, Kwargs, TaskContext, ValueError } from 'nestjs-celery';
import { addTask, echoTask, failTask, mulTask, progressTask, sleepTask, xsumTask } from '../../shared/tasks.contracts.js';

/** Example Celery tasks; any Celery client (Python's `send_task('tasks.add', (2, 3))`) can call them. */
@Injectable()
export class TasksService {
  @CeleryTask(addTask)
  add(x: number, y: number): number {
    return x + y;
  }

  @CeleryTask(mulTask)
  mul(x: number, y: number): number {
    return x * y;
  }

  @CeleryTask(xsumTask)
  xsum(numbers: number[]): number {
    return numbers.reduce((a, b) => a + b, 0);
  }

  /** Fails with a Python-typed error: a Python client catches `ValueError`. */
  @CeleryTask(failTask)
  fail(message: string): never {
    throw new ValueError(message);
  }

  /** Sleeps, and stops early when the task is aborted. */
  @CeleryTask(sleepTask.name, { params: sleepTask.params })
  async sleep(@Args(0) seconds: number, @TaskContext() task: TaskContext): Promise<number> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, seconds * 1000);
      task.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
    return seconds;
  }

  @CeleryTask(echoTask.name)
  echo(@Args() args: unknown[], @Kwargs() kwargs: Record<string, unknown>) {
    return { args, kwargs };
  }

  /** Reports PROGRESS states (Celery's update_state) before its result. */
  @CeleryTask(progressTask.name, { params: progressTask.params })
  async progress(@Args(0) steps: number, @TaskContext() task: TaskContext): Promise<string> {
    for (let done = 1; done <= steps; done++) {
      await new Promise((r) => setTimeout(r, 100));
      await task.updateState('PROGRESS', { done, total: steps });
    }
    return `${steps} steps done`;
  }
}
