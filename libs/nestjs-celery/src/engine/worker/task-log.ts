/**
 * The worker's line per task event in Celery's wording (celery/app/trace.py, worker/strategy.py,
 * worker/request.py), every message-controlled field cut to a bound.
 */
import type { CeleryLogger } from '../../common/logger.js';
import { clipLogText, DEFAULT_MAX_LOG_FIELD_LENGTH } from '../../common/log-line.js';
import { LOG_LEVELS, type LogLevel } from '../../common/log-settings.js';
import type { ExceptionInfo } from '../../protocol/exceptions.js';
import { saferepr } from '../../protocol/repr.js';
import { States } from '../../protocol/states.js';
import type { TaskRequest } from '../../protocol/task-message.js';
import { exceptionRepr } from '../events/task-events.js';
import type { RevokeReason } from '../control/worker-node.js';
import type { RunOutcome } from './run-outcome.js';

/** `name[id]`, the name cut to a field's bound (ids are bounded when decoded). */
const taskRef = (request: TaskRequest) => `${clipLogText(request.name, DEFAULT_MAX_LOG_FIELD_LENGTH)}[${request.id}]`;

/** Seconds as Python prints a float runtime, to the microsecond. */
const seconds = (s: number) => String(Math.round(s * 1e6) / 1e6);

export class TaskLog {
  /** info lines are built at all (a result's repr costs, per task) */
  private readonly info: boolean;

  constructor(
    private readonly logger: CeleryLogger,
    level: LogLevel = 'info',
  ) {
    this.info = LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf('info');
  }

  /** `Task tasks.add[id] received` (info) */
  received(request: TaskRequest): void {
    if (this.info) this.logger.log(`Task ${taskRef(request)} received`);
  }

  /**
   * The outcome of one run, one line: `succeeded in 0.002s: 9` (info), `retry: Retry in 10s` (info),
   * `raised unexpected: ValueError('boom')` with the traceback on the following lines (error), or
   * the hard time limit (error).
   */
  outcome(request: TaskRequest, outcome: RunOutcome & { kind: 'state' }, runtimeSeconds: number, hardLimitSeconds?: number): void {
    if (outcome.state === States.SUCCESS) {
      if (this.info)
        this.logger.log(`Task ${taskRef(request)} succeeded in ${seconds(runtimeSeconds)}s: ${saferepr(outcome.result, DEFAULT_MAX_LOG_FIELD_LENGTH)}`);
    } else if (outcome.state === States.RETRY) {
      if (this.info)
        this.logger.log(
          `Task ${taskRef(request)} retry: ${clipLogText((outcome.error as Error)?.message ?? String(outcome.error), DEFAULT_MAX_LOG_FIELD_LENGTH)}`,
        );
    } else if (outcome.end === 'timeout') {
      this.logger.error(`Hard time limit (${hardLimitSeconds}s) exceeded for ${taskRef(request)}`);
    } else {
      const exc = clipLogText(exceptionRepr(outcome.result as ExceptionInfo), DEFAULT_MAX_LOG_FIELD_LENGTH);
      this.logger.error(`Task ${taskRef(request)} raised unexpected: ${exc}${outcome.traceback ? `\n${outcome.traceback.trimEnd()}` : ''}`);
    }
  }

  /** `Discarding revoked task: tasks.add[id]` (info; expired says when), or the termination (warn). */
  revoked(request: TaskRequest, reason: RevokeReason): void {
    if (reason === 'terminated') this.logger.warn(`Task ${taskRef(request)} terminated: REVOKED stored`);
    else if (this.info)
      this.logger.log(`Discarding revoked task: ${taskRef(request)}${reason === 'expired' ? ` (expired at ${request.expires?.toISOString()})` : ''}`);
  }
}
