/**
 * Connecting at startup with Celery's semantics (broker_connection_retry_on_startup,
 * broker_connection_max_retries, broker_connection_timeout): kombu's ensure_connection backoff
 * and one log line per failed attempt in the consumer's wording.
 */
import type { CeleryLogger } from '../common/logger.js';
import { MissingDriverError } from '../transport/driver.errors.js';
import { isTransportSetupError } from '../transport/lazy-transport.js';
import { tlsErrorHint } from '../transport/tls-options.js';
import { BrokerConnectionError } from './errors.js';

/** Celery's defaults: 100 retries, 4 s per attempt. */
export const DEFAULT_BROKER_CONNECTION_MAX_RETRIES = 100;
export const DEFAULT_BROKER_CONNECTION_TIMEOUT_SECONDS = 4;

/** kombu's ensure_connection intervals (interval_start 2, interval_step 2, interval_max 30): seconds before retry `retry` (1-based). */
export const connectionRetryInterval = (retry: number): number => Math.min(2 + 2 * (retry - 1), 30);

export interface ConnectionRetryOptions {
  /** who connects, the start of each line: 'consumer' (a worker), 'producer' (a client), 'result backend' */
  role: string;
  /** the URL as shown, password masked */
  url: string;
  /** retry at all (broker_connection_retry_on_startup), default true */
  retryOnStartup?: boolean;
  /** retries after the first attempt; 0 or null = forever (broker_connection_max_retries), default 100 */
  maxRetries?: number | null;
  /** seconds one attempt may take (broker_connection_timeout), default 4; 0 = no bound */
  timeoutSeconds?: number;
  logger: CeleryLogger;
  /** told before each wait: the retry about to come (1-based) */
  onRetry?: (retry: number, error: unknown) => void;
  /** stops waiting (the app is being closed) */
  signal?: AbortSignal;
}

/**
 * Errors waiting cannot fix, thrown at once as py-amqp's irrecoverable ones are: a refused
 * login (RabbitMQ ACCESS_REFUSED, Redis WRONGPASS/NOAUTH) or a TLS verification failure; and
 * a transport that could not be built (a refused setting, a driver package not installed).
 */
export function isUnrecoverableConnectionError(error: unknown): boolean {
  if (error instanceof MissingDriverError || isTransportSetupError(error)) return true;
  const text = `${String((error as { code?: string | number })?.code ?? '')} ${(error as Error)?.message ?? ''}`;
  return /ACCESS[-_]REFUSED|WRONGPASS|NOAUTH|invalid username-password/i.test(text) || tlsErrorHint(error) !== '';
}

const message = (error: unknown) => (error as Error)?.message ?? String(error);

/** One attempt of `connect`, failing after `seconds` (the attempt itself may still finish later). */
async function attemptWithin(connect: () => Promise<void>, seconds: number): Promise<void> {
  if (!(seconds > 0)) return connect();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${seconds} s (brokerConnectionTimeout)`)), seconds * 1000);
  });
  try {
    await Promise.race([connect(), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `connect` until it succeeds: each failure logs Celery's line ("consumer: Cannot connect to
 * amqp://guest:**@host:5672//: <error>. Trying again in 2.00 seconds... (1/100)") and waits
 * kombu's interval; past maxRetries a BrokerConnectionError says so (the last error is its cause).
 */
export async function connectWithRetry(connect: () => Promise<void>, options: ConnectionRetryOptions): Promise<void> {
  const { role, url, logger } = options;
  const timeout = options.timeoutSeconds ?? DEFAULT_BROKER_CONNECTION_TIMEOUT_SECONDS;
  const maxRetries = options.maxRetries === undefined ? DEFAULT_BROKER_CONNECTION_MAX_RETRIES : options.maxRetries;
  const forever = !maxRetries;
  for (let retry = 1; ; retry++) {
    try {
      await attemptWithin(connect, timeout);
      if (retry > 1) logger.log(`${role}: Connected to ${url}`);
      return;
    } catch (error) {
      if (options.retryOnStartup === false || isUnrecoverableConnectionError(error)) throw error;
      if (options.signal?.aborted) throw error;
      if (!forever && retry > maxRetries) {
        const gaveUp = `${role}: Cannot connect to ${url}: ${message(error)}. Giving up after ${maxRetries} retries (brokerConnectionMaxRetries)`;
        logger.error(gaveUp);
        throw new BrokerConnectionError(gaveUp, { cause: error });
      }
      const seconds = connectionRetryInterval(retry);
      logger.warn(
        `${role}: Cannot connect to ${url}: ${message(error)}. Trying again in ${seconds.toFixed(2)} seconds... (${retry}/${forever ? 'forever' : maxRetries})`,
      );
      options.onRetry?.(retry, error);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, seconds * 1000);
        function done() {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', done);
          resolve();
        }
        options.signal?.addEventListener('abort', done, { once: true });
      });
      if (options.signal?.aborted) throw new BrokerConnectionError(`${role}: closed while waiting to connect to ${url}`, { cause: error });
    }
  }
}
