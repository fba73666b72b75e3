import { defineTask } from 'nestjs-celery';

/** The example tasks, typed once and used by the worker (@CeleryTask) and the api (CeleryClient). */
export const addTask = defineTask<[x: number, y: number], number>('tasks.add');
export const mulTask = defineTask<[x: number, y: number], number>('tasks.mul');
export const xsumTask = defineTask<[numbers: number[]], number>('tasks.xsum');
export const sleepTask = defineTask<[seconds: number], number>('tasks.sleep');
export const echoTask = defineTask<unknown[], { args: unknown[]; kwargs: Record<string, unknown> }>('tasks.echo');
export const failTask = defineTask<[message: string], never>('tasks.fail');
export const progressTask = defineTask<[steps: number], string>('tasks.progress');
