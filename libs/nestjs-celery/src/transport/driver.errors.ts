/**
 * An optional package (amqplib, ioredis, prom-client, @opentelemetry/api) that a URL or an option needs and is not
 * installed. Apart from driver-loader.ts so that the public error's declaration does not pull in those packages'
 * types, which an app may not have.
 */

/** The optional packages, by package name. */
export type DriverName = 'amqplib' | 'ioredis' | 'prom-client' | '@opentelemetry/api';

/** What each optional package is needed for, for the install hint. */
const NEEDED_FOR: Record<DriverName, string> = {
  amqplib: 'this broker/backend URL',
  ioredis: 'this broker/backend URL',
  'prom-client': 'metrics (the `metrics` option)',
  '@opentelemetry/api': 'tracing (the `tracing` option)',
};

/** Thrown when a URL (or an option) asks for an optional package that is not installed. */
export class MissingDriverError extends Error {
  constructor(
    readonly driver: DriverName,
    cause?: unknown,
  ) {
    super(`the "${driver}" package is needed for ${NEEDED_FOR[driver]} but is not installed: run \`npm install ${driver}\``, { cause });
    this.name = 'MissingDriverError';
  }
}
