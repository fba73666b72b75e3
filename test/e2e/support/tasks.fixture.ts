/**
 * Task handlers used by the e2e apps: each shape of argument mapping, return kind, failure
 * and Nest enhancer the suites check.
 */
import {
  Catch,
  Controller,
  Injectable,
  ParseIntPipe,
  SetMetadata,
  UseFilters,
  UseGuards,
  UseInterceptors,
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Ctx, Payload, RpcException } from '@nestjs/microservices';
import { EMPTY, from, map, of, type Observable } from 'rxjs';
import { Args, CeleryContext, CeleryTask, Kwargs, TaskContext, ValueError, type CeleryPayload } from 'nestjs-celery';
import { addTask, greetTask, reportTask } from './contracts.js';

export class InsufficientFunds extends Error {}
export class CardDeclined extends InsufficientFunds {}

/** What guards/interceptors saw, for assertions. */
export const seen: { contextType?: string; data?: unknown; pattern?: string; handlerName?: string } = {};

const ROLE = 'e2e:role';

@Injectable()
export class RoleGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}
  canActivate(context: ExecutionContext): boolean {
    // metadata on the method must be visible through the handler Nest hands to the guard
    const role = this.reflector.get<string | undefined>(ROLE, context.getHandler());
    const rpc = context.switchToRpc();
    const { kwargs } = rpc.getData<CeleryPayload>();
    seen.contextType = context.getType();
    seen.data = rpc.getData();
    seen.pattern = rpc.getContext<CeleryContext>().getPattern();
    return role !== undefined && kwargs.role === role;
  }
}

@Injectable()
export class TimesTenInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    seen.handlerName = context.getHandler().name;
    return next.handle().pipe(map((value) => (value as number) * 10));
  }
}

/** Turns InsufficientFunds into a successful result: a filter that returns a value handles the failure. */
@Catch(InsufficientFunds)
export class RecoverFundsFilter implements ExceptionFilter {
  catch(exception: InsufficientFunds, host: ArgumentsHost) {
    return { recovered: exception.message, args: host.switchToRpc().getData<CeleryPayload>().args };
  }
}

/** Rethrows any failure as an RpcException (a filter that throws decides the FAILURE). */
@Catch()
export class RpcRethrowFilter implements ExceptionFilter {
  catch(exception: Error) {
    throw new RpcException(`wrapped: ${exception.message}`);
  }
}

@Injectable()
export class MathTasks {
  @CeleryTask(addTask)
  add(x: number, y: number): number {
    return x + y;
  }

  /** no parameter decorators: args spread; the contract's '**kwargs' param hands over the keywords as one object */
  @CeleryTask(greetTask)
  greet(name: string, kwargs?: { greeting?: string }): string {
    return `${kwargs?.greeting ?? 'hello'} ${name}`;
  }

  @CeleryTask('e2e.echo')
  echo(...params: unknown[]): unknown[] {
    return params;
  }

  @CeleryTask('e2e.decorated')
  decorated(
    @Args(0, ParseIntPipe) n: number,
    @Kwargs('unit') unit: string,
    @Args() all: unknown[],
    @Kwargs() kwargs: object,
    @TaskContext() task: TaskContext,
  ): unknown {
    return { n, unit, all, kwargs, id: task.id, queue: task.deliveryInfo.queue };
  }

  @CeleryTask('e2e.nest-params')
  nestParams(@Payload() payload: CeleryPayload, @Payload('kwargs') kwargs: object, @Ctx() ctx: CeleryContext): unknown {
    return { payload, kwargs, pattern: ctx.getPattern(), id: ctx.getTaskContext().id };
  }

  @CeleryTask('e2e.promise')
  async promise(x: number): Promise<number> {
    await new Promise((r) => setTimeout(r, 5));
    return x * 2;
  }

  @CeleryTask('e2e.observable')
  observable(x: number): Observable<number> {
    return from([x, x + 1, x + 2]);
  }

  @CeleryTask('e2e.empty')
  empty(): Observable<never> {
    return EMPTY;
  }

  @CeleryTask('e2e.value-error')
  valueError(x: unknown): never {
    throw new ValueError(`bad value: ${String(x)}`);
  }

  @CeleryTask('e2e.insufficient')
  insufficient(amount: number): never {
    throw new InsufficientFunds(`need ${amount} more`);
  }

  @CeleryTask('e2e.declined')
  declined(): never {
    throw new CardDeclined('card declined');
  }

  @CeleryTask('e2e.plain-error')
  plainError(): never {
    throw new TypeError('not a function');
  }

  @CeleryTask('e2e.guarded')
  @SetMetadata(ROLE, 'admin')
  @UseGuards(RoleGuard)
  // a parameter decorator: the kwargs (read by the guard) are not this method's to refuse
  guarded(@Args(0) x: number): number {
    return x;
  }

  @CeleryTask('e2e.intercepted')
  @UseInterceptors(TimesTenInterceptor)
  intercepted(x: number): number {
    return x + 1;
  }

  @CeleryTask('e2e.recovered')
  @UseFilters(RecoverFundsFilter)
  recovered(amount: number): never {
    throw new InsufficientFunds(`short by ${amount}`);
  }

  @CeleryTask('e2e.rethrown')
  @UseFilters(RpcRethrowFilter)
  rethrown(): never {
    throw new Error('inner');
  }

  @CeleryTask(reportTask.name)
  report(@Args(0) pages: number, @TaskContext() task: TaskContext): { pages: number; queue: string } {
    return { pages, queue: task.deliveryInfo.queue };
  }
}

/** Side effects of fire-and-forget tasks. */
export const recorded: unknown[] = [];

@Injectable()
export class RecordTasks {
  @CeleryTask('e2e.record')
  record(@Args() args: unknown[], @TaskContext() task: TaskContext): void {
    recorded.push({ args, id: task.id });
  }
}

/** PROGRESS through updateState before the result. */
@Injectable()
export class ProgressTasks {
  @CeleryTask('e2e.steps')
  async steps(@Args(0) total: number, @TaskContext() task: TaskContext): Promise<string> {
    for (let done = 1; done <= total; done++) {
      await task.updateState('PROGRESS', { done, total });
      await new Promise((r) => setTimeout(r, 20));
    }
    return `finished ${total}`;
  }
}

/** @CeleryTask on a controller is discovered too. */
@Controller()
export class TasksController {
  @CeleryTask('e2e.from-controller')
  fromController(x: number): Observable<string> {
    return of(`controller got ${x}`);
  }
}
