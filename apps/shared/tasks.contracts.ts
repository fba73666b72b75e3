import { defineTask } from 'nestjs-celery';

/**
 * The example tasks, typed once and used by the worker (@CeleryTask) and the api (CeleryClient).
 * `params` names the parameters as the Python `def` would, so kwargs bind by name
 * (`send_task('tasks.add', kwargs={'x': 4, 'y': 5})` → 9).
 */
export const addTask = defineTask<[x: number, y: number], number>('tasks.add', { params: ['x', 'y'] });
export const mulTask = defineTask<[x: number, y: number], number>('tasks.mul', { params: ['x', 'y'] });
export const xsumTask = defineTask<[numbers: number[]], number>('tasks.xsum', { params: ['numbers'] });
export const sleepTask = defineTask<[seconds: number], number>('tasks.sleep', { params: ['seconds'] });
export const echoTask = defineTask<unknown[], { args: unknown[]; kwargs: Record<string, unknown> }>('tasks.echo');
export const failTask = defineTask<[message: string], never>('tasks.fail', { params: ['message'] });
export const progressTask = defineTask<[steps: number], string>('tasks.progress', { params: ['steps'] });
