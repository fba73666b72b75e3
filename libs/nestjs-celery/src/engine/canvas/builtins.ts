/**
 * Celery's built-in canvas tasks (celery/app/builtins.py), so canvas built in Python reaches
 * Nest tasks: `celery.map`, `celery.starmap`, `celery.chunks` and `celery.chord_unlock`.
 */
import type { CeleryLogger } from '../../common/logger.js';
import { NotRegistered } from '../../protocol/python-errors.js';
import type { SignatureDict } from '../../protocol/signature.js';
import { PROPAGATE_STATES, States, isReady } from '../../protocol/states.js';
import type { ResultTuple } from '../async-result.js';
import type { Celery } from '../celery.js';
import type { TaskContext, TaskHandler, TaskOptions } from '../worker/task-context.js';
import type { TaskRegistry } from '../worker/task-registry.js';
import { settleHandlerValue } from '../worker/time-limits.js';
import { signatureFromDict } from './canvas.js';
import { completeChord, type JoinedPart } from './chord-completion.js';
import type { CanvasContinuation } from './continuation.js';
import { GroupResult, resultFromTuple, type GroupMember } from './group-result.js';
import { Chunks } from './map.js';

/** Celery's result_chord_retry_interval default: seconds between two chord_unlock polls. */
const CHORD_RETRY_INTERVAL = 1;

/** A builtin's parameter, given by keyword (as canvas sends them) or by position. */
function param<T>(args: unknown[], kwargs: Record<string, unknown>, name: string, position: number): T {
  return (kwargs[name] !== undefined ? kwargs[name] : args[position]) as T;
}

/**
 * What canvas needs of a worker: declared here (Worker satisfies it) so canvas does not import
 * worker.ts, which installs canvas.
 */
export interface CanvasWorker {
  readonly app: Celery;
  readonly options: { continuationAttempts?: number };
  readonly registry: TaskRegistry;
  register(name: string, handler: TaskHandler, options?: TaskOptions): unknown;
}

/** `celery.map` / `celery.starmap`: call the task in-process per item (its signature's args are not used, as in Celery). */
async function mapInProcess(registry: TaskRegistry, taskSig: SignatureDict, it: unknown[], star: boolean, context: TaskContext): Promise<unknown[]> {
  const name = signatureFromDict(taskSig).task;
  const task = registry.get(name);
  if (!task) throw new NotRegistered(name);
  const out: unknown[] = [];
  for (const item of it ?? []) out.push((await settleHandlerValue(task.handler(star ? [...(item as unknown[])] : [item], {}, context))) ?? null);
  return out;
}

export function registerCanvasBuiltins(worker: CanvasWorker, continuation: CanvasContinuation, logger: CeleryLogger): void {
  const registry = worker.registry;
  worker.register('celery.map', (args, kwargs, context) =>
    mapInProcess(registry, param(args, kwargs, 'task', 0), param(args, kwargs, 'it', 1), false, context),
  );
  worker.register('celery.starmap', (args, kwargs, context) =>
    mapInProcess(registry, param(args, kwargs, 'task', 0), param(args, kwargs, 'it', 1), true, context),
  );
  worker.register('celery.chunks', async (args, kwargs, context) => {
    const chunks = new Chunks(signatureFromDict(param(args, kwargs, 'task', 0)), param(args, kwargs, 'it', 1), Number(param(args, kwargs, 'n', 2)));
    // Celery returns the GroupResult, which JSON stores as its tuple
    const result = await chunks.applyIn(continuation.contextOf(context.request), [], {}, {});
    return result.asTuple();
  });
  // Celery's unlock_chord: ignore_result, max_retries=None, default_retry_delay=result_chord_retry_interval
  worker.register('celery.chord_unlock', (args, kwargs, context) => chordUnlock(worker.app, continuation, logger, args, kwargs, context), {
    ignoreResult: true,
    maxRetries: null,
    defaultRetryDelay: CHORD_RETRY_INTERVAL,
  });
}

/** Each member's stored state and value, in member order (nested groups flattened into one part). */
async function joinState(member: GroupMember): Promise<JoinedPart> {
  if (member instanceof GroupResult) {
    const parts = await Promise.all(member.results.map(joinState));
    const failed = parts.find((p) => PROPAGATE_STATES.has(p.state));
    if (failed) return failed;
    const ready = parts.every((p) => isReady(p.state));
    return { taskId: member.id, state: ready ? States.SUCCESS : States.PENDING, result: parts.map((p) => p.result) };
  }
  const meta = await member.meta();
  return { taskId: member.id, state: meta?.status ?? States.PENDING, result: meta?.result ?? null };
}

/**
 * Celery's `unlock_chord`: until every header member is ready, run again in `interval` seconds
 * (the same task id, retries + 1, as Celery's `self.retry`); then send the body with the results
 * in header order, or fail it with ChordError naming the first failed member.
 */
async function chordUnlock(
  app: Celery,
  continuation: CanvasContinuation,
  logger: CeleryLogger,
  args: unknown[],
  kwargs: Record<string, unknown>,
  context: TaskContext,
): Promise<null> {
  const callback = param<SignatureDict>(args, kwargs, 'callback', 1);
  const interval = param<number | null>(args, kwargs, 'interval', 2) ?? CHORD_RETRY_INTERVAL;
  const maxRetries = param<number | null>(args, kwargs, 'max_retries', 3) ?? null;
  const tuples = param<ResultTuple[]>(args, kwargs, 'result', 4) ?? [];
  const members = tuples.map((t) => resultFromTuple(t, app.backend));
  const parts = await Promise.all(members.map(joinState));
  // Celery's `raise self.retry(countdown=interval, max_retries=max_retries)`
  if (!parts.every((p) => isReady(p.state))) return context.retry({ countdown: interval, maxRetries });
  await completeChord(continuation.contextOf(context.request), callback, parts, logger);
  return null;
}
