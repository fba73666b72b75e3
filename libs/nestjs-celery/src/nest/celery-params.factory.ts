// CeleryParamsFactory: resolves @Payload() and @Ctx() in @CeleryTask methods as in @MessagePattern handlers.
import type { ParamData } from '@nestjs/common';
import type { ParamsFactory } from '@nestjs/core';
import { RpcParamtype } from '@nestjs/microservices/enums/rpc-paramtype.enum.js';

/**
 * Resolves Nest's own `@Payload()` / `@Payload('args')` and `@Ctx()` in `@CeleryTask`
 * methods, exactly as they resolve in `@MessagePattern` handlers: handler args are
 * `[payload, celeryContext]`.
 */
export class CeleryParamsFactory implements ParamsFactory {
  exchangeKeyForValue(type: number, data: ParamData | undefined, args: unknown[]): unknown {
    switch (type as RpcParamtype) {
      case RpcParamtype.PAYLOAD:
        return typeof data === 'string' || typeof data === 'number' ? (args[0] as Record<string, unknown> | undefined)?.[data] : args[0];
      case RpcParamtype.CONTEXT:
        return args[1];
      default:
        return null;
    }
  }
}
