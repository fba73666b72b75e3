// The built library (libs/nestjs-celery/dist), as a user's process would load it.
export * from '../../libs/nestjs-celery/dist/index.js';
export const silentLoggerForChild = { log() {}, warn() {}, error() {}, debug() {} };
