/**
 * Signature options: what users write (camelCase, like SendTaskOptions) and what travels inside a
 * signature dict (`options`, Celery's apply_async keyword names, snake_case), because a Python
 * worker applies those dicts with `apply_async(**options)`.
 */
import { parseIsoDate, toIsoString } from '../../protocol/dates.js';
import { stampsFromOptions, type Stamps } from '../../protocol/stamps.js';
import type { SignatureDict } from '../../protocol/signature.js';
import type { SendTaskOptions } from '../celery.js';
import { isSignatureLike, type SignatureLike } from './signature-like.js';

/** A signature's options exactly as they go on the wire (Celery's apply_async keywords). */
export type WireOptions = Record<string, unknown>;

/** Options of a signature: `SendTaskOptions` (Celery's apply_async options), signatures as links. */
export type SignatureOptions = Pick<
  SendTaskOptions,
  | 'taskId'
  | 'countdown'
  | 'queue'
  | 'exchange'
  | 'routingKey'
  | 'priority'
  | 'timeLimit'
  | 'softTimeLimit'
  | 'ignoreResult'
  | 'shadow'
  | 'retries'
  | 'replyTo'
  | 'parentId'
  | 'rootId'
  | 'groupId'
  | 'groupIndex'
> & {
  eta?: Date | string;
  /**
   * seconds from when the task is sent, or an absolute time. Prefer seconds for signatures a
   * Python worker applies: Celery 5.2's send_task cannot compare a serialized date.
   */
  expires?: number | Date | string;
  /** applied with this task's result when it succeeds (Celery's link) */
  link?: SignatureLike | SignatureLike[];
  /** applied with this task's id when it fails (Celery's link_error) */
  linkError?: SignatureLike | SignatureLike[];
  /** Celery 5.3+ stamps of this signature only (`sig.stamp()` stamps a whole canvas) */
  stamps?: Stamps;
};

const WIRE_NAMES: Readonly<Record<string, string>> = {
  taskId: 'task_id',
  routingKey: 'routing_key',
  timeLimit: 'time_limit',
  softTimeLimit: 'soft_time_limit',
  ignoreResult: 'ignore_result',
  linkError: 'link_error',
  replyTo: 'reply_to',
  parentId: 'parent_id',
  rootId: 'root_id',
  groupId: 'group_id',
  groupIndex: 'group_index',
};

/** camelCase options → the wire names; undefined values are left out. */
export function toWireOptions(options: SignatureOptions = {}): WireOptions {
  const wire: WireOptions = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (key === 'stamps') {
      // a signature carries its stamps as Celery's do: stamped_headers plus one option per name
      Object.assign(wire, stampOptions(value as Stamps));
      continue;
    }
    const name = WIRE_NAMES[key] ?? key;
    if (name === 'link' || name === 'link_error') wire[name] = Array.isArray(value) ? [...value] : [value];
    else wire[name] = value instanceof Date ? toIsoString(value) : value;
  }
  return wire;
}

/** Stamps as signature options: `stamped_headers` and each stamp under its own name. */
export function stampOptions(stamps: Stamps): WireOptions {
  return { stamped_headers: Object.keys(stamps), ...stamps };
}

/** A signature (object or dict) as the dict that goes on the wire. */
export function toSignatureDict(sig: SignatureLike | SignatureDict): SignatureDict {
  return isSignatureLike(sig) ? sig.toDict() : sig;
}

/** Celery's maybe_list: a single value or a list, as a list (null/undefined → undefined). */
export function maybeList<T>(value: T | T[] | null | undefined): T[] | undefined {
  if (value === null || value === undefined) return undefined;
  return Array.isArray(value) ? value : [value];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'bigint' ? Number(v) : undefined);
const date = (v: unknown): Date | undefined => (v instanceof Date ? v : typeof v === 'string' && v !== '' ? parseIsoDate(v) : undefined);

/**
 * Wire options → the client engine's send options (Celery's `send_task` keywords). Options
 * Celery uses only in Python (producer, serializer, add_to_parent …) are not sent.
 */
export function sendOptionsFromWire(o: WireOptions): SendTaskOptions {
  const expires = num(o.expires) ?? date(o.expires);
  const links = maybeList(o.link as SignatureLike | SignatureDict | undefined);
  const errbacks = maybeList(o.link_error as SignatureLike | SignatureDict | undefined);
  const chain = o.chain as (SignatureLike | SignatureDict)[] | null | undefined;
  const options: SendTaskOptions = {
    taskId: str(o.task_id),
    countdown: num(o.countdown),
    eta: date(o.eta),
    expires,
    queue: str(o.queue),
    exchange: typeof o.exchange === 'string' ? o.exchange : undefined,
    routingKey: str(o.routing_key),
    priority: num(o.priority),
    timeLimit: num(o.time_limit),
    softTimeLimit: num(o.soft_time_limit),
    ignoreResult: typeof o.ignore_result === 'boolean' ? o.ignore_result : undefined,
    shadow: str(o.shadow),
    retries: num(o.retries),
    parentId: str(o.parent_id),
    rootId: str(o.root_id),
    groupId: str(o.group_id),
    groupIndex: num(o.group_index),
    link: links?.map(toSignatureDict),
    linkError: errbacks?.map(toSignatureDict),
    // an empty list stays a list: Celery's worker passes the popped chain on as is (`"chain": []`)
    chain: Array.isArray(chain) ? chain.map(toSignatureDict) : undefined,
    chord: o.chord ? toSignatureDict(o.chord as SignatureLike | SignatureDict) : undefined,
    replyTo: str(o.reply_to),
    headers: o.headers && typeof o.headers === 'object' ? (o.headers as Record<string, unknown>) : undefined,
    stamps: stampsFromOptions(o),
  };
  for (const key of Object.keys(options) as (keyof SendTaskOptions)[]) if (options[key] === undefined) delete options[key];
  return options;
}
