/** Handlers Nest gives CeleryServer through @MessagePattern / @EventPattern, and an HTTP face for the hybrid app. */
import { Controller, Get, Module, Param, ParseIntPipe } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { of } from 'rxjs';
import { CELERY_TRANSPORT, CeleryClient, CeleryContext, KeyError, type CeleryPayload } from 'nestjs-celery';
import { addTask } from './contracts.js';

export const events: unknown[] = [];

@Controller()
export class PatternController {
  @MessagePattern('e2e.mp.sum', CELERY_TRANSPORT)
  sum(@Payload() { args }: CeleryPayload<number[]>): number {
    return args.reduce((a, b) => a + b, 0);
  }

  /** Nest's default call without decorators passes the data only: the CeleryPayload */
  @MessagePattern('e2e.mp.echo')
  echo(data: CeleryPayload) {
    return of(data);
  }

  @MessagePattern('e2e.mp.describe')
  describe(@Payload('kwargs') kwargs: object, @Ctx() context: CeleryContext) {
    return { kwargs, pattern: context.getPattern(), retries: context.getTaskContext().retries };
  }

  @MessagePattern('e2e.mp.rpc-error')
  rpcError(): never {
    throw new RpcException('refused by rule 7');
  }

  @MessagePattern('e2e.mp.key-error')
  keyError(): never {
    throw new KeyError('missing');
  }

  // <string>: Nest 12's typed EventPattern overload would type extra handler params as unknown
  @EventPattern<string>('e2e.ev.audit')
  audit(@Payload() payload: CeleryPayload, @Ctx() ctx: CeleryContext): void {
    events.push({ ...payload, id: ctx.getTaskContext().id });
  }
}

@Controller('math')
export class HttpMathController {
  constructor(private readonly celery: CeleryClient) {}

  @Get('add/:x/:y')
  add(@Param('x', ParseIntPipe) x: number, @Param('y', ParseIntPipe) y: number) {
    return this.celery.call(addTask, [x, y]);
  }
}

@Module({ controllers: [PatternController] })
export class PatternModule {}
