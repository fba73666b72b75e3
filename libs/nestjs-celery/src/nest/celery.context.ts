// CeleryContext: the RPC context a Celery handler, guard, interceptor or filter gets (task context and task name).
import { BaseRpcContext } from '@nestjs/microservices';
import type { TaskContext } from '../engine/worker/task-context.js';

type CeleryContextArgs = [task: TaskContext, pattern: string];

/**
 * The RPC context of a Celery handler: `@Ctx() ctx: CeleryContext`, or
 * `host.switchToRpc().getContext<CeleryContext>()` in a guard, interceptor or filter.
 */
export class CeleryContext extends BaseRpcContext<CeleryContextArgs> {
  /** The engine's task context: id, retries, headers, delivery info, AbortSignal, updateState. */
  getTaskContext(): TaskContext {
    return this.args[0];
  }

  /** The task name the message asked for. */
  getPattern(): string {
    return this.args[1];
  }

  /** The message's Celery 5.3+ stamps (`{}` when unstamped), Celery's `self.request.stamps`. */
  getStamps(): TaskContext['stamps'] {
    return this.args[0].stamps;
  }

  /** Celery's `update_state`, e.g. `updateState('PROGRESS', { done: 3, total: 10 })`. */
  updateState(state: string, meta?: unknown): Promise<void> {
    return this.args[0].updateState(state, meta);
  }
}
