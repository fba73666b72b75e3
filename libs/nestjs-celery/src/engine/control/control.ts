/**
 * Remote control of workers from the client side, Celery's `app.control`
 * (celery/app/control.py `Control`, `Inspect`): works on Python and Nest workers alike.
 */
import { MailboxClient, type BroadcastOptions, type NodeReplies } from './mailbox-client.js';

export type { BroadcastOptions, NodeReplies } from './mailbox-client.js';

/** Which workers and how long to wait: Celery's `destination`, `pattern`/`matcher`, `timeout`, `limit`. */
export interface ControlTarget {
  destination?: string[] | null;
  pattern?: string;
  matcher?: 'glob' | 'pcre';
  /** ms to wait for the next reply (default 1000) */
  timeout?: number;
  limit?: number;
}

export interface RevokeOptions extends ControlTarget {
  /** also abort the task if it is running (Python workers signal its process) */
  terminate?: boolean;
  /** signal name for terminate, default 'SIGTERM' */
  signal?: string;
  /** wait for the workers' replies (Celery's `reply`; default false) */
  reply?: boolean;
}

/** Flatten `[{node: reply}, …]` into `{node: reply}` (celery/app/control.py `flatten_reply`). */
export function flattenReplies<T = unknown>(replies: NodeReplies): Record<string, T> {
  const nodes: Record<string, T> = {};
  for (const reply of replies) Object.assign(nodes, reply);
  return nodes;
}

/** Celery's `app.control`: broadcast commands (ping, revoke, rate limits, events) to workers over the pidbox exchange and collect their replies. */
export class Control {
  constructor(readonly mailbox: MailboxClient) {}

  /** Send any command; with `reply: true` resolves the replies, one `{nodename: reply}` per node. */
  broadcast(command: string, options: BroadcastOptions = {}): Promise<NodeReplies> {
    return this.mailbox.broadcast(command, options);
  }

  /** `[{nodename: {ok: 'pong'}}, …]` for every worker that answered. */
  ping(target: ControlTarget = {}): Promise<NodeReplies> {
    return this.broadcast('ping', { ...target, reply: true });
  }

  /**
   * Tell workers to skip these tasks (stored REVOKED when they get to them) and, with
   * `terminate`, to abort them if they are running. No reply unless `reply: true`.
   */
  revoke(taskId: string | string[], options: RevokeOptions = {}): Promise<NodeReplies> {
    const { terminate = false, signal = 'SIGTERM', reply = false, ...target } = options;
    return this.broadcast('revoke', { ...target, reply, arguments: { task_id: taskId, terminate, signal } });
  }

  /**
   * Celery 5.3+ `revoke_by_stamped_headers`: workers skip every task stamped with one of these
   * values (`{ name: value | [values] }`), and with `terminate` abort the running ones. Python
   * 5.2 workers do not know the command. No reply unless `reply: true`.
   */
  revokeByStampedHeaders(headers: Record<string, unknown>, options: RevokeOptions = {}): Promise<NodeReplies> {
    const { terminate = false, signal = 'SIGTERM', reply = false, ...target } = options;
    return this.broadcast('revoke_by_stamped_headers', { ...target, reply, arguments: { headers, terminate, signal } });
  }

  /** revoke with terminate. */
  terminate(taskId: string | string[], options: Omit<RevokeOptions, 'terminate'> = {}): Promise<NodeReplies> {
    return this.revoke(taskId, { ...options, terminate: true });
  }

  /** Ask workers to send a `worker-heartbeat` event now. */
  heartbeat(target: ControlTarget = {}): Promise<NodeReplies> {
    return this.broadcast('heartbeat', target);
  }

  /** Switch task events on (`worker_send_task_events`) at runtime. */
  enableEvents(target: ControlTarget & { reply?: boolean } = {}): Promise<NodeReplies> {
    return this.broadcast('enable_events', target);
  }

  /** Ask workers to stop sending task events, Celery's `control.disable_events()`. */
  disableEvents(target: ControlTarget & { reply?: boolean } = {}): Promise<NodeReplies> {
    return this.broadcast('disable_events', target);
  }

  /**
   * Change a task's soft and hard time limits (seconds; null: none) on the workers, for its next
   * runs. Workers answer `{ok: 'time limits set successfully'}`, or `{error: 'unknown task'}`.
   */
  timeLimit(taskName: string, limits: { soft?: number | null; hard?: number | null } & ControlTarget & { reply?: boolean } = {}): Promise<NodeReplies> {
    const { soft = null, hard = null, ...target } = limits;
    return this.broadcast('time_limit', { ...target, arguments: { task_name: taskName, soft, hard } });
  }

  /** Start consuming a queue on the workers (declared first; a direct exchange of its name unless told). */
  addConsumer(
    queue: string,
    options: { exchange?: string; exchangeType?: 'direct' | 'topic' | 'fanout'; routingKey?: string } & ControlTarget & { reply?: boolean } = {},
  ): Promise<NodeReplies> {
    const { exchange = null, exchangeType = 'direct', routingKey = null, ...target } = options;
    return this.broadcast('add_consumer', { ...target, arguments: { queue, exchange, exchange_type: exchangeType, routing_key: routingKey } });
  }

  /** Stop consuming a queue on the workers. */
  cancelConsumer(queue: string, target: ControlTarget & { reply?: boolean } = {}): Promise<NodeReplies> {
    return this.broadcast('cancel_consumer', { ...target, arguments: { queue } });
  }

  /** Warm-shut the workers down (they finish what runs and stop consuming); no worker replies. */
  shutdown(target: ControlTarget = {}): Promise<NodeReplies> {
    return this.broadcast('shutdown', target);
  }

  /** Inspect commands, each resolving `{nodename: reply}` (`{}` when no worker answered). */
  inspect(target: ControlTarget = {}): Inspect {
    return new Inspect(this, target);
  }

  /** Close the reply queue's consumer; the app's connection stays open. */
  close(): Promise<void> {
    return this.mailbox.close();
  }
}

/** Celery's `app.control.inspect()`: read-only questions to workers. */
export class Inspect {
  constructor(
    private readonly control: Control,
    private readonly target: ControlTarget,
  ) {}

  /** `{nodename: {ok: 'pong'}}` for every worker that answered, Celery's `inspect().ping()`. */
  ping(): Promise<Record<string, { ok: string }>> {
    return this.request('ping');
  }

  /** Worker statistics: total per task, pid, clock, uptime, pool, broker, prefetch_count, rusage. */
  stats(): Promise<Record<string, Record<string, unknown>>> {
    return this.request('stats');
  }

  /** Registered task names (with `taskinfoitems`, `name [attr=value …]`). */
  registered(...taskinfoitems: string[]): Promise<Record<string, string[]>> {
    return this.request('registered', taskinfoitems.length ? { taskinfoitems } : { taskinfoitems: null });
  }

  /** Tasks running now; `safe` gives the args/kwargs reprs instead of values. */
  active(safe = false): Promise<Record<string, Record<string, unknown>[]>> {
    return this.request('active', { safe });
  }

  /** Tasks received and not started. */
  reserved(): Promise<Record<string, Record<string, unknown>[]>> {
    return this.request('reserved');
  }

  /** Tasks waiting for their ETA: `{eta, priority, request}`. */
  scheduled(): Promise<Record<string, Record<string, unknown>[]>> {
    return this.request('scheduled');
  }

  /** Revoked task ids each worker remembers. */
  revoked(): Promise<Record<string, string[]>> {
    return this.request('revoked');
  }

  /** The queues each worker consumes, as kombu describes them. */
  activeQueues(): Promise<Record<string, Record<string, unknown>[]>> {
    return this.request('active_queues');
  }

  /** Each worker's Lamport clock value, Celery's `inspect().clock()`. */
  clock(): Promise<Record<string, { clock: number }>> {
    return this.request('clock');
  }

  /** `{nodename: {task_id: [state, info]}}` for the ids a worker holds. */
  queryTask(...ids: string[]): Promise<Record<string, Record<string, [string, Record<string, unknown>]>>> {
    return this.request('query_task', { ids });
  }

  /** Each worker's configuration as Celery's `inspect().conf(with_defaults)` reports it. */
  conf(withDefaults = false): Promise<Record<string, Record<string, unknown>>> {
    return this.request('conf', { with_defaults: withDefaults });
  }

  /** Each worker's bug-report text, Celery's `inspect().report()`. */
  report(): Promise<Record<string, { ok: string }>> {
    return this.request('report');
  }

  /** Mingle's request: our revoked ids in, the node's revoked ids and clock out. */
  hello(fromNode: string, revoked?: Record<string, unknown>): Promise<Record<string, { revoked: Record<string, [number, string]>; clock: number } | null>> {
    return this.request('hello', { from_node: fromNode, revoked: revoked ?? null });
  }

  private async request<T>(command: string, args: Record<string, unknown> = {}): Promise<Record<string, T>> {
    return flattenReplies<T>(await this.control.broadcast(command, { ...this.target, arguments: args, reply: true }));
  }
}
