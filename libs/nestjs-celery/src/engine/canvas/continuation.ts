/**
 * The worker side of canvas (celery/app/trace.py after a task returns; celery/backends/base.py
 * `mark_as_done` / `mark_as_failure`; celery/backends/redis.py `on_chord_part_return`):
 *
 * - success: link callbacks are applied with the result prepended, then the next chain step
 *   (popped from the end of embed.chain, the rest passed on), before SUCCESS is stored so the
 *   stored `children` list them; then chord part accounting;
 * - failure: chord part accounting, FAILURE stored for every remaining chain step, errbacks sent
 *   as a group with the failed task's id as first argument.
 */
import type { CeleryLogger } from '../../common/logger.js';
import { nowNaiveUtcIso } from '../../protocol/dates.js';
import { formatTraceback, serializeException, type ExceptionInfo } from '../../protocol/exceptions.js';
import { JsonEncodeError } from '../../protocol/json.js';
import { createResultMeta } from '../../protocol/result-meta.js';
import type { SignatureDict } from '../../protocol/signature.js';
import { PROPAGATE_STATES, States } from '../../protocol/states.js';
import type { TaskRequest } from '../../protocol/task-message.js';
import type { ResultNode } from '../async-result.js';
import type { Celery } from '../celery.js';
import { CONTINUATION_ATTEMPTS, retryContinuation } from '../retry-backoff.js';
import type { TaskContinuation } from '../worker/task-continuation.js';
import type { ApplyContext } from './apply-context.js';
import { signatureFromDict } from './canvas.js';
import { completeChord, errorRepr, failChordBody } from './chord-completion.js';
import { Group } from './group.js';

/** A chord header member: the task itself, or a chain step standing in for one. */
interface ChordMember {
  id: string;
  groupId: string | null;
  groupIndex: number | null;
  chord: SignatureDict;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

export class CanvasContinuation implements TaskContinuation {
  /** what each running task applied (Celery's request.children), until its outcome is stored */
  private readonly trails = new Map<string, ResultNode[]>();

  constructor(
    private readonly app: Celery,
    private readonly logger: CeleryLogger,
    /** tries of each publish / chord counter update before it is surfaced as the continuation's FAILURE */
    private readonly attempts = CONTINUATION_ATTEMPTS,
  ) {}

  /**
   * How a running task applies canvas: what it sends has it as parent (and its root), is not
   * subscribed to, and becomes its result's `children`.
   */
  contextOf(request: TaskRequest): ApplyContext {
    let trail = this.trails.get(request.id);
    if (!trail) this.trails.set(request.id, (trail = []));
    return { app: this.app, trail, current: { id: request.id, rootId: request.rootId || request.id } };
  }

  onSuccess(request: TaskRequest, result: unknown): unknown[] | Promise<unknown[]> {
    // nothing linked, no chain, nothing applied while running: no children, no promise
    if (!request.embed.callbacks?.length && !request.embed.chain?.length && !this.trails.has(request.id)) return [];
    return this.continueAfterSuccess(request, result);
  }

  private async continueAfterSuccess(request: TaskRequest, result: unknown): Promise<unknown[]> {
    const ctx = this.contextOf(request);
    try {
      // trace.py passes priority=None too; a chord applied here keeps it in its body's options
      const lineage = { parent_id: request.id, root_id: request.rootId || request.id, priority: null };
      const callbackDicts = request.embed.callbacks ?? [];
      const callbacks = callbackDicts.map(signatureFromDict);
      if (callbacks.length === 1) {
        await this.send(request, 'link callback', callbackDicts, () => callbacks[0].applyIn(ctx, [result], {}, lineage));
      } else if (callbacks.length > 1) {
        // several callbacks go out as one new group; group callbacks each as their own group
        for (const [i, g] of callbacks.entries()) {
          if (g instanceof Group) await this.send(request, 'link callback', [callbackDicts[i]], () => g.applyIn(ctx, [result], {}, lineage));
        }
        const tasks = callbacks.filter((c) => !(c instanceof Group));
        const taskDicts = callbackDicts.filter((_, i) => !(callbacks[i] instanceof Group));
        if (tasks.length) await this.send(request, 'link callbacks', taskDicts, () => new Group(tasks).applyIn(ctx, [result], {}, lineage));
      }
      const chain = request.embed.chain ? [...request.embed.chain] : null;
      if (chain?.length) {
        const nextDict = chain.pop()!;
        const next = signatureFromDict(nextDict);
        await this.send(request, 'next chain step', [nextDict, ...chain], () => next.applyIn(ctx, [result], {}, { ...lineage, chain }));
      }
      return ctx.trail!.map((r) => r.asTuple());
    } finally {
      this.trails.delete(request.id);
    }
  }

  afterSuccessStored(request: TaskRequest, result: unknown): Promise<void> | undefined {
    if (!request.embed.chord) return undefined;
    return this.guard(request, 'chord part', () => this.chordPartReturn(request, this.memberOf(request), States.SUCCESS, result));
  }

  async afterFailureStored(request: TaskRequest, state: string, exception: ExceptionInfo, traceback: string | null): Promise<void> {
    this.trails.delete(request.id);
    if (request.embed.chord) await this.guard(request, 'chord part', () => this.chordPartReturn(request, this.memberOf(request), state, exception));
    // Celery's mark_as_revoked stops at the chord part; only failures propagate and call errbacks
    if (state === States.REVOKED) return;
    for (const step of request.embed.chain ?? []) {
      await this.guard(request, 'chain failure', () => this.failChainStep(request, step, state, exception, traceback));
    }
    const errbacks = (request.embed.errbacks ?? []).map(signatureFromDict);
    if (errbacks.length) {
      await this.guard(request, 'errbacks', () =>
        new Group(errbacks).applyIn(
          { app: this.app, current: this.currentOf(request) },
          [request.id],
          {},
          { parent_id: request.id, root_id: request.rootId || request.id },
        ),
      );
    }
  }

  /**
   * Publish continuation work of a succeeded task, retried with backoff. When it still fails the
   * failure belongs to the continuation, not to the task: `dependents` (the signature sent and,
   * for a chain, the steps after it) are stored FAILURE with the cause, so whoever waits on them
   * learns it; the task's own SUCCESS stands. A result that cannot be serialized is thrown
   * (the task is FAILURE EncodeError, as in Celery).
   */
  private async send(request: TaskRequest, what: string, dependents: SignatureDict[], work: () => Promise<unknown>): Promise<void> {
    try {
      await retryContinuation(`task ${request.name}[${request.id}]: sending its ${what}`, work, this.logger, this.attempts);
    } catch (error) {
      if (error instanceof JsonEncodeError) throw error;
      const ids = dependents.map((d) => str(d.options?.task_id)).filter((id) => id !== null);
      this.logger.error(
        `task ${request.name}[${request.id}] succeeded but its ${what} could not be sent: ${(error as Error)?.message ?? error}; ` +
          (ids.length ? `stored FAILURE for ${ids.join(', ')}` : 'nothing waits on it'),
      );
      const exception = serializeException(error);
      const traceback = formatTraceback(error);
      for (const step of dependents) {
        await this.guard(request, `${what} failure`, () => this.failChainStep(request, step, States.FAILURE, exception, traceback));
      }
    }
  }

  /** The remaining steps of a failed chain are FAILURE too, with the same exception (Celery 5.2). */
  private async failChainStep(request: TaskRequest, step: SignatureDict, state: string, exception: ExceptionInfo, traceback: string | null): Promise<void> {
    const opts = step.options ?? {};
    const id = str(opts.task_id);
    if (id && PROPAGATE_STATES.has(state) && this.app.backend) {
      const meta = createResultMeta(id, state, exception, {
        traceback,
        children: [],
        dateDone: nowNaiveUtcIso(),
        request: { groupId: str(opts.group_id), parentId: str(opts.parent_id) },
      });
      const backend = this.app.backend;
      const target = { taskId: id, replyTo: str(opts.reply_to), correlationId: id };
      await retryContinuation(`storing ${state} of chain step ${id}`, () => backend.store(meta, target), this.logger, this.attempts);
    }
    // a chain that is a chord header member would otherwise leave the chord waiting forever
    if (id && opts.chord) {
      const member: ChordMember = {
        id,
        groupId: str(opts.group_id),
        groupIndex: typeof opts.group_index === 'number' ? opts.group_index : null,
        chord: opts.chord as SignatureDict,
      };
      await this.chordPartReturn(request, member, state, exception);
    }
  }

  /** Native chord accounting (Redis); without it, celery.chord_unlock joins the header. */
  private async chordPartReturn(request: TaskRequest, member: ChordMember, state: string, result: unknown): Promise<void> {
    const native = this.app.backend?.chord;
    if (!native || !member.groupId) return;
    const ctx = { app: this.app, current: this.currentOf(request) };
    const groupId = member.groupId;
    let parts;
    try {
      parts = await retryContinuation(
        `task ${request.name}[${request.id}]: chord counter of group ${groupId}`,
        () => native.onPartReturn(groupId, member.groupIndex, { taskId: member.id, state, result }),
        this.logger,
        this.attempts,
      );
    } catch (error) {
      // the chord can no longer complete: its body fails with the cause (Celery's "Join error")
      return failChordBody(ctx, signatureFromDict(member.chord), `Join error: ${errorRepr(error)}`, this.logger, this.attempts);
    }
    if (!parts) return;
    const failed = parts.some((p) => PROPAGATE_STATES.has(p.state));
    await completeChord(ctx, member.chord, parts, this.logger, this.attempts);
    // Celery keeps the keys of a failed chord until they expire; a fired one is cleaned up
    if (!failed) {
      await native
        .forget(groupId)
        .catch((err: Error) => this.logger.warn(`chord ${groupId}: its counter keys were not deleted (${err.message}); they expire with result_expires`));
    }
  }

  private memberOf(request: TaskRequest): ChordMember {
    return { id: request.id, groupId: request.groupId, groupIndex: request.groupIndex, chord: request.embed.chord! };
  }

  private currentOf(request: TaskRequest) {
    return { id: request.id, rootId: request.rootId || request.id };
  }

  /** Canvas work after a stored outcome must not requeue the task: failures are logged. */
  private async guard(request: TaskRequest, what: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.logger.error(`task ${request.name}[${request.id}]: ${what} failed: ${(error as Error)?.stack ?? String(error)}`);
    }
  }
}
