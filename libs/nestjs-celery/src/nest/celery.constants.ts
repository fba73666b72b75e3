/** Transport id of CeleryServer: bind a handler to it with `@MessagePattern('tasks.add', CELERY_TRANSPORT)`. */
export const CELERY_TRANSPORT = Symbol('CELERY_TRANSPORT');

/** Method metadata written by `@CeleryTask`. */
export const CELERY_TASK_METADATA = 'nestjs-celery:task';

/** Class metadata written by `@CeleryProcessor`. */
export const CELERY_PROCESSOR_METADATA = 'nestjs-celery:processor';

/**
 * The ExecutionContext type of every Celery handler. 'rpc' (not a custom type) so that
 * `host.switchToRpc()`, RpcException and RPC-aware guards/filters work unchanged:
 * `getData()` is the CeleryPayload `{ args, kwargs }`, `getContext()` the CeleryContext.
 */
export const CELERY_CONTEXT_TYPE = 'rpc';

/** Nest logger contexts. */
export const CELERY_LOGGER_CONTEXT = 'Celery';

/** Method metadata written by `@CelerySchedule` (a list: the method's beat entries). */
export const CELERY_SCHEDULE_METADATA = 'nestjs-celery:schedule';
