// The built library (libs/nestjs-celery/dist), as a user's process would load it: the root entry and the driver subpaths.
export * from '../../libs/nestjs-celery/dist/index.js';
export { AmqpBroker } from '../../libs/nestjs-celery/dist/transport/amqp/index.js';
export { RedisBroker } from '../../libs/nestjs-celery/dist/transport/redis/index.js';
export const silentLoggerForChild = { log() {}, warn() {}, error() {}, debug() {} };
