/** Celery task message protocol v2 (encode/decode) and v1 (decode). STUB: signatures fixed. */
import type { MessageProperties } from './transport-message.js';
import type { SignatureDict } from './signature.js';
import { InvalidTaskError } from './errors.js';

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
  /** now, for computing `expiration` (ms until expires); injectable for tests */
  now?: Date;
}

/** Build headers/properties/body exactly as Celery 5.2 `send_task` does (delivery_mode 2, correlation_id = id, expiration when expires). */
export function createTaskMessage(options: TaskMessageOptions): TaskMessage {
  void options;
  throw new Error('createTaskMessage: not implemented yet');
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
}

/**
 * Validate and normalize a decoded message. `body` is the deserialized body (v2: a 3-element
 * array; v1: an object with task/id/args/kwargs). Throws InvalidTaskError (with taskId when known).
 */
export function decodeTaskMessage(headers: Record<string, unknown>, properties: MessageProperties, body: unknown): TaskRequest {
  void headers;
  void properties;
  void body;
  throw new InvalidTaskError('decodeTaskMessage: not implemented yet');
}
