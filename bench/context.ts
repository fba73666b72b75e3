/** What every scenario of the bench gets: the admin connections and the result observer. */
import type { BrokerAdmin } from './broker-admin.js';
import type { BrokerKind } from './config.js';
import type { ResultObserver } from './result-observer.js';

export interface BenchContext {
  admin: BrokerAdmin;
  observer: ResultObserver;
  /** progress lines go here (stderr), figures go to the final table */
  progress(line: string): void;
}

export const BROKER_NAMES: Record<BrokerKind, string> = { amqp: 'RabbitMQ', redis: 'Redis' };
