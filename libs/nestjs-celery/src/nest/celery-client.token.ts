// Injection tokens for CeleryClient (the default one and named ones) and the @InjectCeleryClient decorator.
import { Inject } from '@nestjs/common';
import { CeleryClient } from './celery.client.js';

/**
 * The injection token of a client: the CeleryClient class for the default one (so plain
 * constructor injection works), `CeleryClient:<name>` for a named one (like bullmq's getQueueToken).
 */
export function getCeleryClientToken(name?: string): typeof CeleryClient | string {
  return name === undefined || name === 'default' ? CeleryClient : `CeleryClient:${name}`;
}

/** Inject a client: `@InjectCeleryClient('reports') reports: CeleryClient`; no name = the default client. */
export const InjectCeleryClient = (name?: string): ParameterDecorator & PropertyDecorator => Inject(getCeleryClientToken(name));
