/**
 * Celery's monitoring events on the wire (celery/events/event.py, dispatcher.py): the
 * `celeryev` exchange, the event body, its routing key and the software fields of worker
 * events. Pure apart from reading the host's clock, timezone and load.
 */
import { createRequire } from 'node:module';
import { loadavg, type as osType } from 'node:os';
import type { BrokerCapabilities, ExchangeDeclaration } from '../../transport/broker.interface.js';

export const EVENT_EXCHANGE = 'celeryev';

/**
 * `celeryev` as Celery declares it: a durable topic exchange, switched to fanout on Redis
 * (a broker without topic exchanges, as kombu's Redis; celery/events/event.py `get_exchange`).
 */
export function eventExchange(capabilities: Pick<BrokerCapabilities, 'topicExchanges'>): ExchangeDeclaration {
  return { name: EVENT_EXCHANGE, type: capabilities.topicExchanges ? 'topic' : 'fanout', durable: true, autoDelete: false };
}

/** Event type → routing key: `task-succeeded` → `task.succeeded`. */
export const routingKeyOf = (type: string): string => type.replace(/-/g, '.');

/** The group an event belongs to: `task-sent` → `task`, `worker-heartbeat` → `worker`. */
export const groupOf = (type: string): string => {
  const dash = type.indexOf('-');
  return dash < 0 ? type : type.slice(0, dash);
};

/**
 * Hours *west* of UTC, as Python's `time.timezone // 3600` (floor division; `altzone` in DST,
 * which getTimezoneOffset already reflects). UTC+2 → -2, UTC-5 → 5, UTC+5:30 → -6.
 */
export function utcoffset(now = new Date()): number {
  return Math.floor(now.getTimezoneOffset() / 60);
}

/** celery/utils/sysinfo.py: os.getloadavg() rounded *up* to 2 decimals. */
export function loadAverage(): [number, number, number] {
  const [a, b, c] = loadavg().map((l) => Math.ceil(l * 100) / 100);
  return [a, b, c];
}

function packageVersion(): string {
  try {
    // src/engine/events and dist/engine/events both sit three levels below the package root
    const pkg = createRequire(import.meta.url)('../../../package.json') as { name?: string; version?: string };
    return pkg.name === 'nestjs-celery' && pkg.version ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Python's platform.system() names. */
const systemName = (): string => (osType() === 'Windows_NT' ? 'Windows' : osType());

/** The software fields of worker events (celery/worker/state.py SOFTWARE_INFO). */
export const SOFTWARE_INFO = { sw_ident: 'nestjs-celery', sw_ver: packageVersion(), sw_sys: systemName() } as const;

export interface EventOrigin {
  hostname: string;
  pid: number;
  /** the Lamport clock value this event carries (null for a blind event) */
  clock: number | null;
}

/** Epoch milliseconds with sub-millisecond digits, so `timestamp` is a float like Python's time.time(). */
const nowMs = (): number => performance.timeOrigin + performance.now();

/** A monitoring event as on the wire: `type` (e.g. `task-succeeded`), `timestamp`, `hostname`, and the type's own fields. */
export type CeleryEvent = Record<string, unknown> & { type: string; timestamp: number; hostname: string };

/**
 * An event body in Celery's key order: hostname, utcoffset, pid, clock, the fields, then
 * timestamp (float epoch seconds) and type (celery/events/event.py `Event`).
 */
export function createEvent(type: string, fields: Record<string, unknown>, origin: EventOrigin, now = nowMs()): CeleryEvent {
  return {
    hostname: origin.hostname,
    utcoffset: utcoffset(new Date(now)),
    pid: origin.pid,
    clock: origin.clock,
    ...fields,
    timestamp: now / 1000,
    type,
  };
}
