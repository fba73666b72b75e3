/**
 * What happens when a chord's header is complete, on whichever worker sees it: the body is sent
 * with the header's results, or, when a member failed, the body is stored FAILURE with
 * `ChordError` and its errbacks run (celery/backends/redis.py `on_chord_part_return`,
 * celery/app/builtins.py `unlock_chord`, celery/backends/base.py `chord_error_from_stack`).
 */
import type { CeleryLogger } from '../../common/logger.js';
import { nowNaiveUtcIso } from '../../protocol/dates.js';
import { formatTraceback, serializeException } from '../../protocol/exceptions.js';
import { ChordError } from '../../protocol/python-errors.js';
import { pythonRepr } from '../../protocol/python-repr.js';
import { createResultMeta } from '../../protocol/result-meta.js';
import type { SignatureDict } from '../../protocol/signature.js';
import { PROPAGATE_STATES, States } from '../../protocol/states.js';
import type { ResultNode } from '../async-result.js';
import { retryContinuation } from '../retry-backoff.js';
import type { ApplyContext } from './apply-context.js';
import { signatureFromDict, type Canvas } from './canvas.js';
import { Group } from './group.js';
import { maybeList } from './options.js';

/** Python's repr of a stored exception (`ValueError('boom')`), as Celery's ChordError message shows it. */
export function pyExceptionRepr(result: unknown): string {
  const r = result as { exc_type?: unknown; exc_message?: unknown } | null;
  if (r && typeof r === 'object' && typeof r.exc_type === 'string') {
    const args = Array.isArray(r.exc_message) ? r.exc_message : r.exc_message === undefined ? [] : [r.exc_message];
    return `${r.exc_type}(${args.map((a) => pythonRepr(a)).join(', ')})`;
  }
  return pythonRepr(result);
}

/** A JS error's repr, for Celery's `ChordError('Callback error: …')`. */
export function errorRepr(error: unknown): string {
  const info = serializeException(error);
  return pyExceptionRepr(info);
}

/** A finished header part as the chord completion reads it. */
export interface JoinedPart {
  taskId: string;
  state: string;
  result: unknown;
}

/**
 * The header is complete: send the body with the results in header order, or fail it with
 * Celery's `ChordError('Dependency <id> raised <repr>')` naming the first failed member.
 * `ctx.current` is the running task (its id becomes the body's parent_id).
 */
export async function completeChord(
  ctx: ApplyContext,
  chordBody: SignatureDict | Canvas,
  parts: JoinedPart[],
  logger: CeleryLogger,
  attempts?: number,
): Promise<void> {
  const body = signatureFromDict(chordBody);
  const failed = parts.find((p) => PROPAGATE_STATES.has(p.state));
  if (failed) return failChordBody(ctx, body, `Dependency ${failed.taskId} raised ${pyExceptionRepr(failed.result)}`, logger, attempts);
  try {
    // a publish that fails (broker away) is retried; if it keeps failing the body is FAILURE
    await retryContinuation(
      `sending chord body ${body.task}[${body.id ?? '?'}]`,
      () => body.applyIn(ctx, [parts.map((p) => p.result)], {}, {}),
      logger,
      attempts,
    );
  } catch (error) {
    await failChordBody(ctx, body, `Callback error: ${errorRepr(error)}`, logger, attempts);
  }
}

/**
 * Celery's `chord_error_from_stack`: the body's errbacks are sent with the body's id, then the
 * body is stored FAILURE with the ChordError (its `children` are those errbacks, as Celery's).
 */
export async function failChordBody(ctx: ApplyContext, body: Canvas, reason: string, logger: CeleryLogger, attempts?: number): Promise<void> {
  const error = new ChordError(reason);
  logger.error(`chord body ${body.task}[${body.id ?? '?'}] failed: ${error.message}`);
  const bodyId = body.id ?? null;
  const trail: ResultNode[] = [];
  const errbacks = maybeList(body.options.link_error as (SignatureDict | Canvas)[] | undefined) ?? [];
  if (errbacks.length) {
    const send = () => new Group(errbacks.map(signatureFromDict)).applyIn({ ...ctx, trail }, [bodyId], {}, { parent_id: bodyId, root_id: bodyId });
    // the body's FAILURE is stored even when its errbacks cannot be sent
    await retryContinuation(`sending the errbacks of chord body ${body.task}[${bodyId ?? '?'}]`, send, logger, attempts).catch((err: Error) =>
      logger.error(`chord body ${body.task}[${bodyId ?? '?'}]: its errbacks were not sent: ${err?.message ?? err}`),
    );
  }
  const backend = ctx.app.backend;
  if (!bodyId || !backend) return;
  const meta = createResultMeta(bodyId, States.FAILURE, serializeException(error), {
    traceback: formatTraceback(error),
    children: trail.map((r) => r.asTuple()),
    dateDone: nowNaiveUtcIso(),
  });
  const replyTo = typeof body.options.reply_to === 'string' ? body.options.reply_to : null;
  await retryContinuation(
    `storing FAILURE of chord body ${body.task}[${bodyId}]`,
    () => backend.store(meta, { taskId: bodyId, replyTo, correlationId: bodyId }),
    logger,
    attempts,
  );
}
