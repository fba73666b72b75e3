// CeleryStatus: the connection status CeleryServer and CeleryClient report, mapped from the broker's.
import { filter, map, type Observable } from 'rxjs';
import type { ConnectionStatus } from '../transport/connection-status.js';

/** What `CeleryServer.status` and `CeleryClient.status` emit. */
export type CeleryStatus = 'connected' | 'disconnected' | 'reconnecting';

const FROM_BROKER: Partial<Record<ConnectionStatus, CeleryStatus>> = {
  connected: 'connected',
  reconnecting: 'reconnecting',
  disconnected: 'disconnected',
  closed: 'disconnected',
};

/** The broker's connection status as Nest's transports report theirs ('connecting' is not a change). */
export function celeryStatus(brokerStatus$: Observable<ConnectionStatus>): Observable<CeleryStatus> {
  return brokerStatus$.pipe(
    map((status) => FROM_BROKER[status]),
    filter((status): status is CeleryStatus => status !== undefined),
  );
}
