// A process pool's child: imports the worker's pool entry (which registers the task handlers, e.g.
// by bootstrapping the user's Nest module), then runs the tasks its parent sends, one at a time.
import type { Stamps } from '../../../protocol/stamps.js';
import { NotRegistered } from '../../../protocol/python-errors.js';
import type { TaskRequest } from '../../../protocol/task-message.js';
import type { DeliveryInfo } from '../../../transport/broker.interface.js';
import { withAutoretry } from '../retry.js';
import { TaskAbort } from '../task-abort.js';
import type { RetryOptions, TaskContext } from '../task-context.js';
import { TaskRegistry } from '../task-registry.js';
import { settleHandlerValue } from '../time-limits.js';
import { fromWireError, toWireError, type FromChild, type ToChild, type WireTask } from './pool-wire.js';

const send = (message: FromChild) => process.send!(message);
/** calls to the parent waiting for its reply */
const calls = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
let lastCall = 0;

function callParent(job: number, method: 'updateState' | 'retry', args: unknown[]): Promise<void> {
  const call = ++lastCall;
  return new Promise<void>((resolve, reject) => {
    calls.set(call, { resolve, reject });
    send({ t: 'call', call, job, method, args });
  });
}

/** The TaskContext in a child: the request's fields, the abort signal the parent drives, the rest done by the parent. */
class ChildTaskContext implements TaskContext {
  readonly id: string;
  readonly task: string;
  readonly retries: number;
  readonly request: TaskRequest;
  readonly headers: Record<string, unknown>;
  readonly stamps: Stamps;
  readonly stampedHeaders: string[];
  readonly deliveryInfo: DeliveryInfo;
  readonly hostname: string;
  readonly abort = new TaskAbort();

  constructor(
    readonly job: number,
    task: WireTask,
  ) {
    const { request } = task;
    this.request = request;
    this.id = request.id;
    this.task = request.task;
    this.retries = request.retries;
    this.headers = request.headers;
    this.stamps = request.stamps;
    this.stampedHeaders = request.stampedHeaders;
    this.deliveryInfo = task.deliveryInfo;
    this.hostname = task.hostname;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  updateState(state: string, meta?: unknown): Promise<void> {
    return callParent(this.job, 'updateState', [state, meta ?? null]);
  }

  async retry(options: RetryOptions = {}): Promise<never> {
    const { exc, ...rest } = options;
    await callParent(this.job, 'retry', [{ ...rest, exc: exc === undefined ? undefined : toWireError(exc) }]);
    throw new Error('retry: the parent published no next attempt');
  }
}

const registry = new TaskRegistry();
const running = new Map<number, ChildTaskContext>();

async function run(job: number, task: WireTask): Promise<void> {
  const context = new ChildTaskContext(job, task);
  running.set(job, context);
  let outcome: { value?: unknown; error?: ReturnType<typeof toWireError> };
  try {
    const registered = registry.get(task.request.task);
    if (!registered) throw new NotRegistered(task.request.task);
    const { args, kwargs } = task.request;
    const invoke = withAutoretry(async () => settleHandlerValue(registered.handler(args, kwargs, context)), registered.options, context);
    outcome = { value: await invoke() };
  } catch (error) {
    outcome = { error: toWireError(error) };
  }
  running.delete(job);
  const rss = process.memoryUsage.rss();
  try {
    send({ t: 'done', job, ...outcome, rss });
  } catch (error) {
    // a value the channel cannot carry (a function, a class instance with native state)
    send({ t: 'done', job, error: toWireError(error), rss });
  }
}

process.on('message', (message: ToChild) => {
  if (message.t === 'run') void run(message.job, message.task);
  else if (message.t === 'abort') running.get(message.job)?.abort.abort(fromWireError(message.reason));
  else if (message.t === 'reply') {
    const waiting = calls.get(message.call);
    calls.delete(message.call);
    if (message.error) waiting?.reject(fromWireError(message.error));
    else waiting?.resolve();
  }
});
// the parent went away: nothing left to do for it
process.on('disconnect', () => process.exit(0));

try {
  const entry = process.argv[2];
  const loaded = (await import(entry)) as { default?: unknown };
  if (typeof loaded.default !== 'function') {
    throw new TypeError(`pool entry ${entry} must export a default function that registers the tasks (register(name, handler, options))`);
  }
  await (loaded.default as (registry: TaskRegistry) => unknown)(registry);
  const tasks = registry.names().map((name) => {
    // functions and classes (autoretryFor, params) stay here, where the handler runs
    const plain = Object.entries(registry.get(name)!.options).filter(([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v));
    return { name, options: Object.fromEntries(plain) };
  });
  send({ t: 'ready', tasks });
} catch (error) {
  send({ t: 'failed', error: toWireError(error) });
  process.disconnect();
}
