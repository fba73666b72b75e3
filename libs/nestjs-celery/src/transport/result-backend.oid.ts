// The process oid (Celery's app.thread_oid) clients put in reply_to, and fresh oids for reply queues.
import { randomUUID } from 'node:crypto';

let processOid: string | undefined;

/**
 * The process's oid: what Celery calls `app.thread_oid` (celery/app/base.py), a UUID string the
 * client puts in every task's `reply_to`. Key/value backends only need it to be stable.
 */
export function getProcessOid(): string {
  return (processOid ??= randomUUID());
}

/**
 * A fresh oid for a reply queue. Two RPC backends in one process must not share a queue (they
 * would split each other's replies), so each gets its own.
 */
export function newOid(): string {
  return randomUUID();
}
