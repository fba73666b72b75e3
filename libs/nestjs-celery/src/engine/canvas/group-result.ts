/**
 * Celery's GroupResult: the results of a group's members, in member order. `results$` and `get()`
 * give every value once all are ready; a member's failure is reported as a GroupMemberError that
 * names the member (index and task id) and carries its Python exception.
 */
import { Observable, catchError, firstValueFrom, forkJoin, map, merge, of, throwError, timeout as rxTimeout } from 'rxjs';
import { CeleryTaskError } from '../../protocol/exceptions.js';
import { isReady, PROPAGATE_STATES, States } from '../../protocol/states.js';
import type { ResultBackend } from '../../transport/result-backend.interface.js';
import { AsyncResult, type GetOptions, type ResultNode, type ResultTuple } from '../async-result.js';
import { CeleryTimeoutError } from '../errors.js';

/** A member of a group failed: which one (index, task id), and its exception. */
export class GroupMemberError extends CeleryTaskError {
  constructor(
    readonly groupId: string,
    readonly index: number,
    cause: CeleryTaskError,
  ) {
    super(cause.excType, cause.excModule, cause.excMessage, cause.traceback, cause.taskId, cause.state);
    this.name = 'GroupMemberError';
    this.message = `group ${groupId}: member ${index} (task ${cause.taskId ?? '?'}) failed with ${cause.message}`;
    this.cause = cause;
  }
}

/** One member's outcome as it becomes ready. */
export type GroupMemberOutcome<T = unknown> =
  { index: number; taskId: string; state: 'SUCCESS'; result: T } | { index: number; taskId: string; state: string; error: CeleryTaskError };

/** What a group's result holds per member: a task's AsyncResult, or a nested group's GroupResult. */
export type GroupMember = AsyncResult | GroupResult;

export class GroupResult<T = unknown> implements ResultNode {
  parent: ResultNode | null;

  constructor(
    readonly id: string,
    readonly results: GroupMember[],
    private readonly backend?: ResultBackend | null,
    parent?: ResultNode | null,
  ) {
    this.parent = parent ?? null;
  }

  get length(): number {
    return this.results.length;
  }

  /** Celery's `as_tuple()`: `[[id, parent tuple | null], [member tuples]]`. */
  asTuple(): ResultTuple {
    return [[this.id, this.parent ? this.parent.asTuple() : null], this.results.map((r) => r.asTuple())];
  }

  /**
   * Every member's value in member order, emitted once when all succeeded; errors with a
   * GroupMemberError as soon as any member fails.
   */
  get results$(): Observable<T[]> {
    if (this.results.length === 0) return of([]);
    return forkJoin(
      this.results.map((member, index) =>
        (member.result$ as Observable<unknown>).pipe(catchError((error: unknown) => throwError(() => this.memberError(index, error)))),
      ),
    ) as Observable<T[]>;
  }

  /** Same as results$, so a group can be a member of a group. */
  get result$(): Observable<T[]> {
    return this.results$;
  }

  /** Each member's outcome as it becomes ready (completion order), then completes. */
  get outcomes$(): Observable<GroupMemberOutcome<T>> {
    return merge(
      ...this.results.map((member, index) =>
        (member.result$ as Observable<T>).pipe(
          map((result): GroupMemberOutcome<T> => ({ index, taskId: member.id, state: States.SUCCESS, result })),
          catchError((error: unknown) => {
            if (!(error instanceof CeleryTaskError)) return throwError(() => error);
            return of<GroupMemberOutcome<T>>({ index, taskId: error.taskId ?? member.id, state: error.state, error });
          }),
        ),
      ),
    );
  }

  /** Wait for every member (Celery's `join`). Throws GroupMemberError, or CeleryTimeoutError after `timeout` ms. */
  get(options: Omit<GetOptions, 'propagate'> = {}): Promise<T[]> {
    const all = this.results$;
    const waited =
      options.timeout === undefined
        ? all
        : all.pipe(rxTimeout({ first: options.timeout, with: () => throwError(() => new CeleryTimeoutError(this.id, options.timeout!)) }));
    return firstValueFrom(waited);
  }

  /** Each member's current state, in member order (a nested group reports SUCCESS only when all of it did). */
  async states(): Promise<string[]> {
    return Promise.all(this.results.map(async (r) => (r instanceof GroupResult ? groupState(await r.states()) : r.state())));
  }

  /** True when every member is ready (SUCCESS, FAILURE or REVOKED). */
  async ready(): Promise<boolean> {
    return (await this.states()).every(isReady);
  }

  /** True when every member succeeded, Celery's `GroupResult.successful()`. */
  async successful(): Promise<boolean> {
    return (await this.states()).every((s) => s === States.SUCCESS);
  }

  /** True when any member failed or was revoked, Celery's `GroupResult.failed()`. */
  async failed(): Promise<boolean> {
    return (await this.states()).some((s) => PROPAGATE_STATES.has(s));
  }

  /** How many members succeeded, Celery's `GroupResult.completed_count()`. */
  async completedCount(): Promise<number> {
    return (await this.states()).filter((s) => s === States.SUCCESS).length;
  }

  private memberError(index: number, error: unknown): unknown {
    return error instanceof CeleryTaskError && !(error instanceof GroupMemberError) ? new GroupMemberError(this.id, index, error) : error;
  }
}

function groupState(states: string[]): string {
  if (states.some((s) => PROPAGATE_STATES.has(s))) return States.FAILURE;
  return states.every((s) => s === States.SUCCESS) ? States.SUCCESS : States.PENDING;
}

/** Celery's `result_from_tuple`: a result (with its parents) from its tuple form. */
export function resultFromTuple(tuple: ResultTuple, backend?: ResultBackend | null): GroupMember {
  const [[id, parentTuple], members] = tuple;
  const parent = parentTuple ? resultFromTuple(parentTuple, backend) : null;
  if (members)
    return new GroupResult(
      id,
      members.map((m) => resultFromTuple(m, backend)),
      backend,
      parent,
    );
  return new AsyncResult(id, backend, parent);
}
