// Parameter decorators for @CeleryTask handlers: @Args, @Kwargs and @TaskContext.
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { TaskContext as EngineTaskContext } from '../engine/worker/task-context.js';
import type { CeleryContext } from './celery.context.js';
import type { CeleryPayload } from './celery-payload.js';

const payloadOf = (ctx: ExecutionContext): CeleryPayload => ctx.switchToRpc().getData<CeleryPayload>();

/**
 * The task's positional args: `@Args() args: unknown[]`, or one of them: `@Args(0) x: number`.
 * Pipes go after the index: `@Args(0, ParseIntPipe)`.
 */
export const Args = createParamDecorator((index: number | undefined, ctx: ExecutionContext) => {
  const { args } = payloadOf(ctx);
  return index === undefined ? args : args[index];
});

/** The task's kwargs: `@Kwargs() kwargs: Record<string, unknown>`, or one: `@Kwargs('name') name: string`. */
export const Kwargs = createParamDecorator((key: string | undefined, ctx: ExecutionContext) => {
  const { kwargs } = payloadOf(ctx);
  return key === undefined ? kwargs : kwargs[key];
});

/** The engine's task context (id, retries, headers, deliveryInfo, signal, updateState): `@TaskContext() task: TaskContext`. */
export const TaskContext = createParamDecorator((_: unknown, ctx: ExecutionContext) => ctx.switchToRpc().getContext<CeleryContext>().getTaskContext());

/** The type of a `@TaskContext()` parameter (same name as the decorator, like Nest's own pairs). */
export type TaskContext = EngineTaskContext;
