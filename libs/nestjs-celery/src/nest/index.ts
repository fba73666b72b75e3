/** nest/: the NestJS face of the engine (module, decorators, server, client, typed contracts, health); the root entry re-exports it all. */
export { CELERY_TRANSPORT } from './celery.constants.js';
export { CeleryModule } from './celery.module.js';
export { MODULE_OPTIONS_TOKEN as CELERY_MODULE_OPTIONS, type CeleryModuleExtras } from './celery.module-definition.js';
export type { CeleryModuleOptions, CeleryNamedClientOptions, CeleryServerOptions, CeleryWorkerOptions, CeleryBeatOptions } from './celery-module.options.js';
export { CeleryTask, type CeleryTaskOptions, type CeleryTaskMetadata, type TypedTaskDecorator } from './celery-task.decorator.js';
export { CeleryProcessor, type CeleryProcessorOptions } from './celery-processor.decorator.js';
export { CelerySchedule, type CelerySchedulePlan, type CeleryScheduleMetadata } from './celery-schedule.decorator.js';
export { Args, Kwargs, TaskContext } from './celery-params.decorator.js';
export { CeleryContext } from './celery.context.js';
export type { CeleryPayload } from './celery-payload.js';
export { CeleryServer, type CeleryServerEvents } from './celery.server.js';
export { celeryPoolEntry } from './celery-pool-entry.js';
export { CeleryClient, type CeleryTaskUpdate } from './celery.client.js';
export { getCeleryClientToken, InjectCeleryClient } from './celery-client.token.js';
export type { CeleryClientAsyncOptions } from './celery-client.registration.js';
export type { CeleryStatus } from './celery.status.js';
export {
  defineTask,
  type TaskContract,
  type ArgsOf,
  type ResultOf,
  type KwargsOf,
  type TaskReturn,
  type TaskMethod,
  type TaskKwargs,
  type TaskContractOptions,
  type TaskSchemaOptions,
} from './task-contract.js';
export { TaskValidationError, type TaskSchemas, type SchemaArgs, type SchemaKwargs, type SchemaResult } from './task-schemas.js';
export { PythonErrorRegistry, type CeleryErrorMapping, type ErrorClass } from './python-error.registry.js';
export { CeleryHealthIndicator, type CeleryHealthResult } from './celery.health.js';
