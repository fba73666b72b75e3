import { defineTask } from 'nestjs-celery';

/** Contracts shared by the e2e apps' clients and workers. */
export const addTask = defineTask<[x: number, y: number], number>('e2e.add', { params: ['x', 'y'] });
export const greetTask = defineTask<[name: string], string, { greeting?: string }>('e2e.greet', { params: ['name', '**kwargs'] });
export const reportTask = defineTask<[pages: number], { pages: number }>('e2e.report', { queue: 'reports' });
