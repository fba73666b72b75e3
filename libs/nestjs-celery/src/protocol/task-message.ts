/**
 * Celery task message protocol v2 (encode/decode) and v1 (decode).
 *
 * Encoding mirrors celery/app/amqp.py `as_task_v2` and celery/app/base.py `send_task` (5.2):
 * the same sixteen headers, `lang: 'py'` (the Python worker ignores lang, and other tools
 * such as Flower expect it), argsrepr/kwargsrepr via saferepr. Decoding mirrors the worker
 * (celery/worker/consumer/consumer.py, strategy.py, request.py): v1 bodies are converted with
 * hybrid_to_proto2, and eta/expires must parse or the message is invalid.
 */
import { hostname } from 'node:os';
import type { MessageProperties } from './transport-message.js';
import type { SignatureDict } from './signature.js';
import { InvalidTaskError } from './errors.js';
import { parseIsoDate, toIsoString } from './dates.js';
import { pyArgsRepr, pyRepr } from './repr.js';
import { stampHeaders, stampsFromHeaders, type Stamps } from './stamps.js';

export type TimeLimit = [hard: number | null, soft: number | null];

/** Headers Celery 5.2 `as_task_v2` writes; unknown headers are preserved. */
export interface TaskHeaders {
  lang: string;
  task: string;
  id: string;
  shadow: string | null;
  eta: string | null;
  expires: string | null;
  group: string | null;
  group_index: number | null;
  retries: number;
  timelimit: TimeLimit;
  root_id: string;
  parent_id: string | null;
  argsrepr: string;
  kwargsrepr: string;
  origin: string;
  ignore_result: boolean;
  [key: string]: unknown;
}

export interface TaskEmbed {
  callbacks: SignatureDict[] | null;
  errbacks: SignatureDict[] | null;
  chain: SignatureDict[] | null;
  chord: SignatureDict | null;
}

export type TaskBody = [args: unknown[], kwargs: Record<string, unknown>, embed: TaskEmbed];

/** A v2 task message before serialization. */
export interface TaskMessage {
  headers: TaskHeaders;
  properties: MessageProperties;
  body: TaskBody;
}

export interface TaskMessageOptions {
  id: string;
  task: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  /** absolute times; the client engine turns countdown / relative expires into these */
  eta?: Date | null;
  expires?: Date | null;
  retries?: number;
  timeLimit?: TimeLimit;
  rootId?: string | null;
  parentId?: string | null;
  group?: string | null;
  groupIndex?: number | null;
  shadow?: string | null;
  ignoreResult?: boolean;
  /** always set by Celery: the RPC reply queue or the client's oid */
  replyTo: string;
  priority?: number;
  /** `gen<pid>@<hostname>` by default */
  origin?: string;
  callbacks?: SignatureDict[] | null;
  errbacks?: SignatureDict[] | null;
  chain?: SignatureDict[] | null;
  chord?: SignatureDict | null;
  /** extra headers merged in (never overriding the standard ones) */
  headers?: Record<string, unknown>;
  /** Celery 5.3+ stamps: written as the `stamped_headers` and `stamps` headers (none when empty) */
  stamps?: Stamps;
  /** now, for computing `expiration` (ms until expires); injectable for tests */
  now?: Date;
  /**
   * Override the argsrepr/kwargsrepr headers (Celery's `argsrepr=` option, e.g. to hide secrets).
   * By default args are shown as a tuple, as `task.delay(*args)` writes them: `(2, 2)`.
   */
  argsrepr?: string;
  kwargsrepr?: string;
}

let origin: string | undefined;

/** Celery's anon_nodename(): `gen<pid>@<hostname>` of this process. */
export function defaultOrigin(): string {
  return (origin ??= `gen${process.pid}@${hostname()}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** Build headers/properties/body exactly as Celery 5.2 `send_task` does (delivery_mode 2, correlation_id = id, expiration when expires). */
export function createTaskMessage(options: TaskMessageOptions): TaskMessage {
  const args = options.args ?? [];
  const kwargs = options.kwargs ?? {};
  // as_task_v2 raises TypeError for these, before anything is sent
  if (!Array.isArray(args)) throw new TypeError('task args must be a list (array)');
  if (!isPlainObject(kwargs)) throw new TypeError('task keyword arguments must be a mapping (plain object)');
  if (!options.id) throw new TypeError('a task message needs an id');
  if (!options.task) throw new TypeError('a task message needs a task name');

  const [hard, soft] = options.timeLimit ?? [null, null];
  const standard: TaskHeaders = {
    lang: 'py',
    task: options.task,
    id: options.id,
    shadow: options.shadow ?? null,
    eta: options.eta ? toIsoString(options.eta) : null,
    expires: options.expires ? toIsoString(options.expires) : null,
    group: options.group ?? null,
    group_index: options.groupIndex ?? null,
    retries: options.retries ?? 0,
    // [hard, soft], and never undefined: amqplib throws on undefined inside arrays
    timelimit: [hard ?? null, soft ?? null],
    root_id: options.rootId || options.id,
    parent_id: options.parentId ?? null,
    argsrepr: options.argsrepr ?? pyArgsRepr(args),
    kwargsrepr: options.kwargsrepr ?? pyRepr(kwargs),
    origin: options.origin ?? defaultOrigin(),
    ignore_result: options.ignoreResult ?? false,
  };
  const headers: TaskHeaders = { ...standard };
  if (options.stamps && Object.keys(options.stamps).length) Object.assign(headers, stampHeaders(options.stamps));
  for (const [key, value] of Object.entries(options.headers ?? {})) {
    if (!(key in standard) && value !== undefined) headers[key] = value;
  }

  const properties: MessageProperties = {
    correlationId: options.id,
    replyTo: options.replyTo,
    deliveryMode: 2,
  };
  if (options.priority !== undefined && options.priority !== null) properties.priority = options.priority;
  if (options.expires) {
    // kombu/messaging.py: str(int(seconds * 1000)); send_task clamps a past expiry to 0
    const ms = options.expires.getTime() - (options.now ?? new Date()).getTime();
    properties.expiration = String(Math.max(0, Math.trunc(ms)));
  }

  const embed: TaskEmbed = {
    callbacks: options.callbacks ?? null,
    errbacks: options.errbacks ?? null,
    chain: options.chain ?? null,
    chord: options.chord ?? null,
  };
  return { headers, properties, body: [args, kwargs, embed] };
}

/** A decoded, validated task request, normalized to v2 whatever protocol it came in. */
export interface TaskRequest {
  protocol: 1 | 2;
  id: string;
  /** the `task` header: selects the handler */
  task: string;
  /** shadow or task: the display name */
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  embed: TaskEmbed;
  /** normalized v2 headers (v1 bodies are converted, Celery's hybrid_to_proto2) */
  headers: TaskHeaders;
  eta: Date | null;
  expires: Date | null;
  retries: number;
  timeLimit: TimeLimit;
  rootId: string;
  parentId: string | null;
  groupId: string | null;
  groupIndex: number | null;
  ignoreResult: boolean;
  replyTo: string | null;
  correlationId: string;
  /** Celery 5.3+ stamp names (`stamped_headers`), empty when unstamped */
  stampedHeaders: string[];
  /** the stamps: each name of stampedHeaders → its value from the `stamps` header */
  stamps: Stamps;
}

/** Bounds on the names and ids a message carries (they become log fields and backend keys). */
export interface TaskMessageLimits {
  /** longer task names (and shadow names) are refused, InvalidTaskError; default 512 characters */
  maxTaskNameLength?: number;
  /** longer task, root, parent and group ids are refused, InvalidTaskError; default 256 characters */
  maxTaskIdLength?: number;
}

export const DEFAULT_TASK_MESSAGE_LIMITS: Readonly<Required<TaskMessageLimits>> = { maxTaskNameLength: 512, maxTaskIdLength: 256 };

/** A task id within `maxTaskIdLength`, else undefined: a FAILURE is never stored under an oversized key. */
export function boundedTaskId(id: unknown, limits: TaskMessageLimits = {}): string | undefined {
  const max = limits.maxTaskIdLength ?? DEFAULT_TASK_MESSAGE_LIMITS.maxTaskIdLength;
  return typeof id === 'string' && id !== '' && id.length <= max ? id : undefined;
}

/**
 * Validate and normalize a decoded message. `body` is the deserialized body (v2: a 3-element
 * array; v1: an object with task/id/args/kwargs). Throws InvalidTaskError (with taskId when known).
 */
export function decodeTaskMessage(headers: Record<string, unknown>, properties: MessageProperties, body: unknown, limits: TaskMessageLimits = {}): TaskRequest {
  const request = decodeUnbounded(headers, properties, body);
  checkBounds(request, limits);
  return request;
}

function checkBounds(request: TaskRequest, limits: TaskMessageLimits): void {
  const maxName = limits.maxTaskNameLength ?? DEFAULT_TASK_MESSAGE_LIMITS.maxTaskNameLength;
  const maxId = limits.maxTaskIdLength ?? DEFAULT_TASK_MESSAGE_LIMITS.maxTaskIdLength;
  if (request.id.length > maxId) {
    throw new InvalidTaskError(`task id ${clipped(request.id)} of ${request.id.length} characters is over the ${maxId}-character limit (maxTaskIdLength)`);
  }
  // one call per field, not a loop over a list of pairs built for every message
  checkLength(request.id, 'task name', request.task, maxName, 'maxTaskNameLength');
  checkLength(request.id, 'shadow name', request.name, maxName, 'maxTaskNameLength');
  checkLength(request.id, 'root_id', request.rootId, maxId, 'maxTaskIdLength');
  checkLength(request.id, 'parent_id', request.parentId, maxId, 'maxTaskIdLength');
  checkLength(request.id, 'group', request.groupId, maxId, 'maxTaskIdLength');
}

const clipped = (text: string) => JSON.stringify(text.slice(0, 64)) + '…';

/** InvalidTaskError when the header `what` of task `id` is longer than `max` characters. */
function checkLength(id: string, what: string, value: string | null | undefined, max: number, option: string): void {
  if (value && value.length > max) {
    throw new InvalidTaskError(`task ${id}: ${what} ${clipped(value)} of ${value.length} characters is over the ${max}-character limit (${option})`, id);
  }
}

function decodeUnbounded(headers: Record<string, unknown>, properties: MessageProperties, body: unknown): TaskRequest {
  const raw = headers ?? {};
  // consumer.py: a message without a `task` header is protocol 1, the task name is in the body
  if (raw.task === undefined || raw.task === null) {
    if (!isPlainObject(body) || typeof body.task !== 'string') {
      const id = isPlainObject(body) && typeof body.id === 'string' ? body.id : undefined;
      throw new InvalidTaskError('not a Celery task message: no task header (protocol 2) and no task name in the body (protocol 1)', id);
    }
    return fromProtocol1(raw, properties, body);
  }
  // strategy.py: a body dict with args is a hybrid v1 body under v2 headers
  if (isPlainObject(body) && 'args' in body) return fromProtocol1(raw, properties, body);
  return fromProtocol2(raw, properties, body);
}

function fromProtocol2(raw: Record<string, unknown>, properties: MessageProperties, body: unknown): TaskRequest {
  const id = requireId(raw.id);
  if (!Array.isArray(body) || body.length !== 3) {
    throw new InvalidTaskError(`task ${id}: the body must be a 3-element list [args, kwargs, embed]`, id);
  }
  const [args, kwargs, embed] = body as unknown[];
  return buildRequest(2, raw, properties, args, kwargs, embed, id);
}

/** strategy.py hybrid_to_proto2: headers from the body's fields, then the message headers on top. */
function fromProtocol1(raw: Record<string, unknown>, properties: MessageProperties, body: Record<string, unknown>): TaskRequest {
  const field = (name: string, fallback: unknown = null) => (body[name] === undefined ? fallback : body[name]);
  const converted: Record<string, unknown> = {
    lang: field('lang'),
    task: field('task'),
    id: field('id'),
    root_id: field('root_id'),
    parent_id: field('parent_id'),
    // protocol 1 called the group `taskset`
    group: field('group', field('taskset')),
    // not copied by hybrid_to_proto2; kept here so chord results still order by index
    group_index: field('group_index'),
    meth: field('meth'),
    shadow: field('shadow'),
    eta: field('eta'),
    expires: field('expires'),
    retries: field('retries', 0),
    timelimit: field('timelimit', [null, null]),
    argsrepr: field('argsrepr'),
    kwargsrepr: field('kwargsrepr'),
    origin: field('origin'),
    ...raw,
  };
  const id = requireId(converted.id);
  const embed = { callbacks: field('callbacks'), errbacks: field('errbacks'), chord: field('chord'), chain: null };
  return buildRequest(1, converted, properties, field('args', []), field('kwargs', {}), embed, id);
}

function requireId(id: unknown): string {
  if (typeof id !== 'string' || id === '') {
    throw new InvalidTaskError('task message has no id: the id header (protocol 2) or body field (protocol 1) is required');
  }
  return id;
}

function optionalString(raw: Record<string, unknown>, name: string, id: string): string | null {
  const value = raw[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new InvalidTaskError(`task ${id}: header ${name} must be a string or null`, id);
  return value;
}

function optionalInt(raw: Record<string, unknown>, name: string, id: string, fallback: number | null): number | null {
  const value = raw[name];
  if (value === undefined || value === null) return fallback;
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new InvalidTaskError(`task ${id}: header ${name} must be an integer, got ${JSON.stringify(typeof value === 'string' ? value : pyRepr(value))}`, id);
  }
  return n;
}

/** request.py: maybe_iso8601 then InvalidTaskError('invalid ETA value …') when it does not parse. */
function optionalDate(raw: Record<string, unknown>, name: 'eta' | 'expires', id: string): Date | null {
  const value = raw[name];
  if (value === undefined || value === null || value === '') return null;
  const label = name === 'eta' ? 'ETA' : 'expires';
  if (typeof value !== 'string') throw new InvalidTaskError(`task ${id}: invalid ${label} value ${JSON.stringify(value)}`, id);
  try {
    return parseIsoDate(value);
  } catch (err) {
    throw new InvalidTaskError(`task ${id}: invalid ${label} value ${JSON.stringify(value)}: ${(err as Error).message}`, id);
  }
}

function timeLimitOf(raw: Record<string, unknown>, id: string): TimeLimit {
  const value = raw.timelimit;
  if (value === undefined || value === null) return [null, null];
  const ok = (v: unknown) => v === null || (typeof v === 'number' && Number.isFinite(v) && v >= 0);
  if (!Array.isArray(value) || value.length !== 2 || !ok(value[0]) || !ok(value[1])) {
    throw new InvalidTaskError(`task ${id}: timelimit must be [hard, soft] seconds or nulls, got ${JSON.stringify(value)}`, id);
  }
  return [value[0] as number | null, value[1] as number | null];
}

function embedOf(embed: unknown, id: string): TaskEmbed {
  // request.update(**embed or {}): a null embed means no canvas
  if (embed === null || embed === undefined) return { callbacks: null, errbacks: null, chain: null, chord: null };
  if (!isPlainObject(embed)) throw new InvalidTaskError(`task ${id}: the embed (third body item) must be an object or null`, id);
  const list = (name: string) => {
    const v = embed[name];
    if (v === undefined || v === null) return null;
    if (!Array.isArray(v)) throw new InvalidTaskError(`task ${id}: embed.${name} must be a list of signatures or null`, id);
    return v as SignatureDict[];
  };
  const chord = embed.chord;
  if (chord !== undefined && chord !== null && !isPlainObject(chord)) {
    throw new InvalidTaskError(`task ${id}: embed.chord must be a signature or null`, id);
  }
  return {
    ...embed,
    callbacks: list('callbacks'),
    errbacks: list('errbacks'),
    chain: list('chain'),
    chord: (chord ?? null) as SignatureDict | null,
  };
}

function buildRequest(
  protocol: 1 | 2,
  raw: Record<string, unknown>,
  properties: MessageProperties,
  args: unknown,
  kwargs: unknown,
  embed: unknown,
  id: string,
): TaskRequest {
  const task = raw.task;
  if (typeof task !== 'string' || task === '') throw new InvalidTaskError(`task ${id}: the task name must be a non-empty string`, id);
  if (!Array.isArray(args)) throw new InvalidTaskError(`task ${id}: task args must be a list`, id);
  if (!isPlainObject(kwargs)) throw new InvalidTaskError(`task ${id}: task keyword arguments must be a mapping`, id);

  const shadow = optionalString(raw, 'shadow', id);
  const eta = optionalDate(raw, 'eta', id);
  const expires = optionalDate(raw, 'expires', id);
  const retries = optionalInt(raw, 'retries', id, 0) as number;
  const groupIndex = optionalInt(raw, 'group_index', id, null);
  const timeLimit = timeLimitOf(raw, id);
  const rootId = optionalString(raw, 'root_id', id) || id;
  const parentId = optionalString(raw, 'parent_id', id);
  const groupId = optionalString(raw, 'group', id);
  const ignoreResult = Boolean(raw.ignore_result);

  const headers: TaskHeaders = {
    ...raw,
    lang: typeof raw.lang === 'string' ? raw.lang : 'py',
    task,
    id,
    shadow,
    eta: eta ? (raw.eta as string) : null,
    expires: expires ? (raw.expires as string) : null,
    group: groupId,
    group_index: groupIndex,
    retries,
    timelimit: timeLimit,
    root_id: rootId,
    parent_id: parentId,
    argsrepr: typeof raw.argsrepr === 'string' ? raw.argsrepr : pyRepr(args),
    kwargsrepr: typeof raw.kwargsrepr === 'string' ? raw.kwargsrepr : pyRepr(kwargs),
    origin: typeof raw.origin === 'string' ? raw.origin : '',
    ignore_result: ignoreResult,
  };
  const { stampedHeaders, stamps } = stampsFromHeaders(raw);
  const replyTo = properties?.replyTo ?? properties?.reply_to;
  const correlationId = properties?.correlationId ?? properties?.correlation_id;
  return {
    protocol,
    id,
    task,
    name: shadow || task,
    args,
    kwargs,
    embed: embedOf(embed, id),
    headers,
    eta,
    expires,
    retries,
    timeLimit,
    rootId,
    parentId,
    groupId,
    groupIndex,
    ignoreResult,
    replyTo: typeof replyTo === 'string' && replyTo !== '' ? replyTo : null,
    correlationId: typeof correlationId === 'string' && correlationId !== '' ? correlationId : id,
    stampedHeaders,
    stamps,
  };
}
