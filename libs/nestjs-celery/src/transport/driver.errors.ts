/**
 * A broker client library (amqplib, ioredis) that a URL needs and is not installed. Apart from driver-loader.ts so
 * that the public error's declaration does not pull in amqplib's and ioredis' types, which an app may not have.
 */

/** The client libraries a transport family may need, by package name. */
export type DriverName = 'amqplib' | 'ioredis';

/** Thrown when a URL asks for a transport whose client library is not installed. */
export class MissingDriverError extends Error {
  constructor(
    readonly driver: DriverName,
    cause?: unknown,
  ) {
    super(`the "${driver}" package is needed for this broker/backend URL but is not installed: run \`npm install ${driver}\``, { cause });
    this.name = 'MissingDriverError';
  }
}
