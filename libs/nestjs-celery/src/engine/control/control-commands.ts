/**
 * The remote-control commands a worker answers, with the reply shapes of Celery's
 * (celery/worker/control.py `Panel`), so `celery inspect …`, `celery status`,
 * `celery control revoke` and Flower read Nest workers like Python ones.
 */
import { resourceUsage } from 'node:process';
import type { QueueDeclaration } from '../../transport/broker.interface.js';
import type { EventDispatcher } from '../events/event-dispatcher.js';
import type { Heart } from '../events/heart.js';
import type { LamportClock } from '../events/lamport-clock.js';
import type { WorkerState } from '../worker/worker-state.js';
import { NO_REPLY, type ControlHandler } from './pidbox-node.js';
import { signum } from './signals.js';
import { pythonRepr } from '../../protocol/python-repr.js';
import { ValueError } from '../../protocol/python-errors.js';
import { stampValues } from '../../protocol/stamps.js';
import { parseRate, RateLimitError } from '../worker/rate-limit.js';

/** What the commands read and act on. */
export interface CommandContext {
  readonly hostname: string;
  readonly state: WorkerState;
  readonly clock: LamportClock;
  readonly dispatcher: EventDispatcher;
  readonly heart?: Heart;
  /** registered task names and their options */
  taskNames(): string[];
  taskOption(name: string, option: string): unknown;
  /** the task queues consumed, as declared */
  queues(): QueueDeclaration[];
  readonly concurrency: number;
  /** the prefetch window the broker applies now (`stats.prefetch_count`) */
  prefetchCount(): number;
  readonly pool: PoolControl;
  /** `stats.broker`: transport, hostname, port, userid, virtual_host, ssl … */
  brokerInfo(): Record<string, unknown>;
  /** settings for `conf`: those set, or with the defaults of the rest */
  conf(withDefaults: boolean): Record<string, unknown>;
  /** time_limit: set a registered task's limits (null: none); false when no such task */
  setTimeLimits(name: string, soft: number | null, hard: number | null): boolean;
  /** add_consumer: consume this queue too (declared first), unless already consumed */
  addConsumer(queue: QueueDeclaration): void;
  /** cancel_consumer: stop consuming the queue (nothing happens when it is not consumed) */
  cancelConsumer(queue: string): void;
  /** shutdown: a warm shutdown of the worker, after the command returned */
  shutdown(reason: string): void;
  /** rate_limit: set a task type's rate limit (already checked); false for an unknown task */
  setRateLimit(name: string, rate: string | number | null): boolean;
  /** revoke: flag the ids; with terminate abort the running ones; returns the ids found */
  revoke(ids: string[], terminate: boolean, signum: number): string[];
  /** revoke_by_stamped_headers: flag the stamps; with terminate abort the running tasks stamped so; returns the matches per name */
  revokeByStamps(headers: Record<string, unknown[]>, terminate: boolean, signum: number): Map<string, unknown[]>;
}

/** The worker's execution pool as remote control sees it. */
export interface PoolControl {
  /** `stats.pool`, as prefork's: max-concurrency, processes (pids), max-tasks-per-child, put-guarded-by-semaphore, timeouts */
  info(): Record<string, unknown>;
  /** the current pool size, which is the prefetch count */
  prefetchCount(): number;
  grow(n: number): void;
  shrink(n: number): void;
  /** set when the worker autoscales (Celery's `--autoscale`) */
  readonly autoscaler?: AutoscalerControl;
}

/** The autoscaler as remote control sees it: `stats.autoscaler` and the `autoscale` command. */
export interface AutoscalerControl {
  info(): { max: number; min: number; current: number; qty: number };
  /** the new range (either left out: unchanged); throws when it is refused; returns [max, min] */
  update(max?: number, min?: number): [number, number];
}

const ok = (value: unknown) => ({ ok: value });

/** A control command's whole-number argument (Celery's `('n', int)`), with its default. */
function count(value: unknown, fallback: number): number {
  const n = value === undefined || value === null ? fallback : typeof value === 'string' ? Number(value.trim()) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new TypeError(`expected a whole number, got ${pythonRepr(value)}`);
  return n;
}

/** Celery's `maybe_list`: one id or a list of ids. */
function idList(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

/** revoke_by_stamped_headers' `headers`: a mapping (values one or a list), or Celery CLI's ["name=value", …]. */
function stampedHeadersArgument(value: unknown): Record<string, unknown[]> | undefined {
  const headers: Record<string, unknown[]> = {};
  if (Array.isArray(value)) {
    for (const item of value) {
      if (typeof item !== 'string' || !item.includes('=')) return undefined;
      const [name, stamp] = item.split('=', 2);
      (headers[name] ??= []).push(stamp);
    }
    return headers;
  }
  if (value === null || typeof value !== 'object') return undefined;
  for (const [name, stamps] of Object.entries(value)) headers[name] = stampValues(stamps);
  return headers;
}

const truthy = (value: unknown): boolean =>
  value === true || value === 1 || (typeof value === 'string' && ['1', 'true', 'yes', 'on'].includes(value.toLowerCase()));

/** kombu `Queue.as_dict(recurse=True)` for a queue we consume. */
export function queueAsDict(q: QueueDeclaration): Record<string, unknown> {
  const exchange = q.exchange ?? q.name;
  const args = q.arguments ?? null;
  return {
    name: q.name,
    exchange: {
      name: exchange,
      type: q.exchangeType ?? 'direct',
      arguments: null,
      durable: q.exchangeDurable ?? true,
      passive: false,
      auto_delete: false,
      delivery_mode: null,
      no_declare: false,
    },
    routing_key: q.routingKey ?? q.name,
    queue_arguments: args,
    binding_arguments: null,
    consumer_arguments: null,
    durable: q.durable ?? true,
    exclusive: q.exclusive ?? false,
    auto_delete: q.autoDelete ?? false,
    no_ack: false,
    alias: null,
    bindings: [],
    no_declare: null,
    expires: typeof args?.['x-expires'] === 'number' ? args['x-expires'] / 1000 : null,
    message_ttl: typeof args?.['x-message-ttl'] === 'number' ? args['x-message-ttl'] / 1000 : null,
    max_length: null,
    max_length_bytes: null,
    max_priority: typeof args?.['x-max-priority'] === 'number' ? args['x-max-priority'] : null,
  };
}

function rusage(): Record<string, number> {
  const u = resourceUsage();
  return {
    utime: u.userCPUTime / 1e6,
    stime: u.systemCPUTime / 1e6,
    maxrss: u.maxRSS,
    ixrss: u.sharedMemorySize,
    idrss: u.unsharedDataSize,
    isrss: u.unsharedStackSize,
    minflt: u.minorPageFault,
    majflt: u.majorPageFault,
    nswap: u.swappedOut,
    inblock: u.fsRead,
    oublock: u.fsWrite,
    msgsnd: u.ipcSent,
    msgrcv: u.ipcReceived,
    nsignals: u.signalsCount,
    nvcsw: u.voluntaryContextSwitches,
    nivcsw: u.involuntaryContextSwitches,
  };
}

/** The longest queue name add_consumer / cancel_consumer take (AMQP's short string). */
const MAX_QUEUE_NAME = 255;

const queueName = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 && value.length <= MAX_QUEUE_NAME ? value : undefined);

/** A time limit argument: seconds ≥ 0 (0 and None: no limit, as Celery's falsy limit); undefined when it is neither. */
function seconds(value: unknown): number | null | undefined {
  if (value === null || value === undefined) return null;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return undefined;
  return n || null;
}

/**
 * `stats.pool` in the shape of Celery's prefork pool (celery/concurrency/prefork.py `info`), for
 * the one Node process that runs `concurrency` tasks at once: every task is written to it.
 */
function poolInfo(ctx: CommandContext): Record<string, unknown> {
  // the pool's own fields (size, pids, limits), then asynpool's `writes` over its processes: one
  // inqueue per process (the event loop is one), busy while a task runs there
  const pool: Record<string, unknown> = { implementation: 'nestjs_celery:EventLoopPool', ...ctx.pool.info() };
  const inqueues = Array.isArray(pool.processes) ? pool.processes.length : 1;
  const total = ctx.state.processed;
  const share = (total ? 1 : 0).toFixed(2);
  pool.writes = {
    total,
    avg: share,
    all: total ? share : '',
    raw: total ? String(total) : '',
    strategy: 'fair',
    inqueues: { total: inqueues, active: Math.min(ctx.state.activeCount, inqueues) },
  };
  return pool;
}

/** The default attributes `registered` shows (celery DEFAULT_TASK_INFO_ITEMS); ours are all unset. */
const DEFAULT_TASK_INFO_ITEMS = ['exchange', 'routing_key', 'rate_limit'];

/** Build the command table for one worker. */
export function controlCommands(ctx: CommandContext): Map<string, ControlHandler> {
  const commands = new Map<string, ControlHandler>();
  const add = (name: string, handler: ControlHandler, ...aliases: string[]) => {
    commands.set(name, handler);
    for (const alias of aliases) commands.set(alias, handler);
  };

  add('ping', () => ok('pong'));
  add('clock', () => ({ clock: ctx.clock.value }));
  add('report', () => ok(`software -> nestjs-celery ${ctx.hostname} node:${process.version} platform:${process.platform} arch:${process.arch}`));

  add('heartbeat', async () => {
    if (ctx.heart) await ctx.heart.requested();
    return null;
  });

  add('enable_events', () => {
    const groups = ctx.dispatcher.groups;
    if (groups.size && !groups.has('task')) {
      groups.add('task');
      return ok('task events enabled');
    }
    return ok('task events already enabled');
  });
  add('disable_events', () => {
    if (ctx.dispatcher.groups.has('task')) {
      ctx.dispatcher.groups.delete('task');
      return ok('task events disabled');
    }
    return ok('task events already disabled');
  });

  add('revoke', (args) => {
    const ids = [...new Set(idList(args.task_id))];
    if (truthy(args.terminate)) {
      const terminated = ctx.revoke(ids, true, signum(args.signal));
      return ok(terminated.length ? `terminate: ${terminated.join(', ')}` : 'terminate: tasks unknown');
    }
    ctx.revoke(ids, false, 0);
    return ok(`tasks ${ids.join(', ')} flagged as revoked`);
  });
  add('revoke_by_stamped_headers', (args) => {
    const headers = stampedHeadersArgument(args.headers);
    if (!headers)
      return {
        error: `revoke_by_stamped_headers: headers must be a mapping of stamp names to values or a list of "name=value", got ${pythonRepr(args.headers)}`,
      };
    const terminate = truthy(args.terminate);
    const matched = ctx.revokeByStamps(headers, terminate, terminate ? signum(args.signal) : 0);
    // Celery's replies, with its reprs: the headers as given, or the matches as a defaultdict of sets
    if (!terminate) return ok(`headers ${pythonRepr(args.headers)} flagged as revoked, but not terminated`);
    if (!matched.size) return ok(`headers ${pythonRepr(args.headers)} were not terminated`);
    const sets = [...matched].map(([name, values]) => `${pythonRepr(name)}: {${values.map((v) => pythonRepr(v)).join(', ')}}`);
    return ok(`headers defaultdict(<class 'set'>, {${sets.join(', ')}}) revoked`);
  });
  add('terminate', (args) => commands.get('revoke')!({ task_id: args.task_id, terminate: true, signal: args.signal }));

  add('hello', (args) => {
    // mingle: a neighbour (Python or Nest) shares its revoked ids and asks for ours and our clock
    if (args.from_node === ctx.hostname) return null;
    if (args.revoked) ctx.state.revoked.update(args.revoked);
    return { revoked: ctx.state.revoked.toWire(), clock: ctx.clock.forward() };
  });

  add(
    'stats',
    () => ({
      total: Object.fromEntries(ctx.state.totals),
      pid: process.pid,
      clock: String(ctx.clock.value),
      uptime: Math.round((Date.now() - ctx.state.startedAt) / 1000),
      pool: poolInfo(ctx),
      broker: ctx.brokerInfo(),
      prefetch_count: ctx.prefetchCount(),
      rusage: rusage(),
      ...(ctx.pool.autoscaler && { autoscaler: ctx.pool.autoscaler.info() }),
    }),
    'dump_stats',
  );

  add(
    'registered',
    (args) => {
      const items = Array.isArray(args.taskinfoitems) && args.taskinfoitems.length ? (args.taskinfoitems as unknown[]).map(String) : DEFAULT_TASK_INFO_ITEMS;
      const builtins = truthy(args.builtins);
      return ctx
        .taskNames()
        .filter((name) => builtins || !name.startsWith('celery.'))
        .sort()
        .map((name) => {
          const fields = items.flatMap((item) => {
            const value = item === 'name' ? name : ctx.taskOption(name, item);
            return value === undefined || value === null
              ? []
              : [`${item}=${typeof value === 'boolean' ? (value ? 'True' : 'False') : typeof value === 'string' ? value : pythonRepr(value)}`];
          });
          return fields.length ? `${name} [${fields.join(' ')}]` : name;
        });
    },
    'dump_tasks',
  );

  add('active', (args) => ctx.state.activeInfo(truthy(args.safe)), 'dump_active');
  add('reserved', () => ctx.state.reservedInfo(), 'dump_reserved');
  add('scheduled', () => ctx.state.scheduledInfo(), 'dump_schedule');
  add('revoked', () => ctx.state.revoked.ids(), 'dump_revoked');
  add('active_queues', () => ctx.queues().map(queueAsDict));

  add('query_task', (args) => {
    const out: Record<string, [string, unknown]> = {};
    for (const id of idList(args.ids)) {
      const entry = ctx.state.find(id);
      if (entry) out[id] = [ctx.state.stateOf(id), ctx.state.info(entry)];
    }
    return out;
  });

  add('conf', (args) => ctx.conf(truthy(args.with_defaults)), 'dump_conf');

  add('time_limit', (args) => {
    const name = typeof args.task_name === 'string' ? args.task_name : '';
    const soft = seconds(args.soft);
    const hard = seconds(args.hard);
    if (soft === undefined || hard === undefined)
      return { error: `time_limit: soft and hard must be seconds or None, got ${pythonRepr(args.soft)} and ${pythonRepr(args.hard)}` };
    // Celery's words, an error when the task is not registered
    return ctx.setTimeLimits(name, soft, hard) ? ok('time limits set successfully') : { error: 'unknown task' };
  });

  add('add_consumer', (args) => {
    const queue = queueName(args.queue);
    if (!queue) return { error: `add_consumer: queue must be a name of 1 to ${MAX_QUEUE_NAME} characters, got ${pythonRepr(args.queue)}` };
    const declaration: QueueDeclaration = { name: queue };
    if (typeof args.exchange === 'string') declaration.exchange = args.exchange;
    if (args.exchange_type === 'direct' || args.exchange_type === 'topic' || args.exchange_type === 'fanout') declaration.exchangeType = args.exchange_type;
    if (typeof args.routing_key === 'string') declaration.routingKey = args.routing_key;
    // Celery replies at once and starts consuming soon after (consumer.call_soon)
    ctx.addConsumer(declaration);
    return ok(`add consumer ${queue}`);
  });

  add('cancel_consumer', (args) => {
    const queue = queueName(args.queue);
    if (!queue) return { error: `cancel_consumer: queue must be a name of 1 to ${MAX_QUEUE_NAME} characters, got ${pythonRepr(args.queue)}` };
    ctx.cancelConsumer(queue);
    return ok(`no longer consuming from ${queue}`);
  });

  // Celery raises WorkerShutdown in the handler: nothing is replied, the worker shuts down warm
  add('shutdown', (args) => {
    ctx.shutdown(typeof args.msg === 'string' ? args.msg.slice(0, 1000) : 'Got shutdown from remote');
    return NO_REPLY;
  });

  // a Celery worker without worker_pool_restarts answers so; ours has no pool to restart
  add('pool_restart', () => {
    throw new ValueError('Pool restarts not enabled');
  });

  add('rate_limit', (args) => {
    const rate = (args.rate_limit ?? null) as string | number | null;
    try {
      parseRate(rate);
    } catch (error) {
      const { type, arg } = (error as RateLimitError).python;
      // Celery's rate() raises KeyError for an unknown unit, which its command does not catch
      return { error: type === 'KeyError' ? `KeyError(${pythonRepr(arg)})` : `Invalid rate limit string: ValueError(${pythonRepr(arg)})` };
    }
    if (typeof args.task_name !== 'string' || !ctx.setRateLimit(args.task_name, rate)) return { error: 'unknown task' };
    return ok(rate ? 'new rate limit set successfully' : 'rate limit disabled successfully');
  });

  // celery/worker/control.py: the pool's size changes and so does the prefetch count; under autoscale, refused
  const underAutoscale = (command: string) => ({ error: `${command} is not supported with autoscale. Adjust autoscale range instead.` });
  add('pool_grow', (args) => {
    if (ctx.pool.autoscaler) return underAutoscale('pool_grow');
    ctx.pool.grow(count(args.n, 1));
    return ok('pool will grow');
  });
  add('pool_shrink', (args) => {
    if (ctx.pool.autoscaler) return underAutoscale('pool_shrink');
    ctx.pool.shrink(count(args.n, 1));
    return ok('pool will shrink');
  });
  // Celery's Autoscaler.update: max, min or both (None: unchanged), replying the range now
  add('autoscale', (args) => {
    if (!ctx.pool.autoscaler) throw new ValueError('Autoscale not enabled');
    const bound = (value: unknown) => (value === undefined || value === null ? undefined : count(value, 0));
    const [max, min] = ctx.pool.autoscaler.update(bound(args.max), bound(args.min));
    return ok(`autoscale now max=${max} min=${min}`);
  });

  return commands;
}
