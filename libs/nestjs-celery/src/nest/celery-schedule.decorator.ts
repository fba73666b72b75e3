// @CelerySchedule: a beat entry (Celery's beat_schedule) declared on the @CeleryTask method it sends.
import { CELERY_SCHEDULE_METADATA } from './celery.constants.js';
import { nextRunOf, type BeatEntry, type BeatSchedule } from '../engine/beat/schedules.js';

/** What a `@CelerySchedule` entry sends besides the task name: Celery's entry `args`, `kwargs` and `options`. */
export type CelerySchedulePlan = Omit<BeatEntry, 'task' | 'schedule'>;

/** One entry as `@CelerySchedule` stores it on the method; the task name is the method's, filled in at discovery. */
export interface CeleryScheduleMetadata extends CelerySchedulePlan {
  /** the entry's name in the beat schedule (unique across the app's decorators and `forRoot({ beat: { schedule } })`) */
  name: string;
  schedule: BeatSchedule;
}

/**
 * Adds an entry to the app's beat schedule that sends this `@CeleryTask` method's task (its full
 * name, `@CeleryProcessor` prefix included) on `schedule`: `{ every: seconds }`, `{ crontab, timezone }`
 * or `{ at }`, with `args`, `kwargs` and send `options` as a `beat.schedule` entry takes them.
 * Repeatable, one entry per decorator. The entries run when the module has a `beat` (the
 * decorated ones join `beat.schedule`; a name used twice is a startup error); a schedule that
 * cannot run is refused here, where it is declared.
 *
 *   @CeleryTask('reports.daily')
 *   @CelerySchedule('daily-report', { crontab: '0 6 * * *', timezone: 'Europe/Paris' }, { kwargs: { format: 'pdf' } })
 *   daily(@Kwargs('format') format: string) { … }
 */
export function CelerySchedule(name: string, schedule: BeatSchedule, plan: CelerySchedulePlan = {}): MethodDecorator {
  if (typeof name !== 'string' || name === '') throw new TypeError('@CelerySchedule(name): the entry name must be a non-empty string, e.g. "daily-report"');
  nextRunOf(name, schedule);
  const entry: CeleryScheduleMetadata = { ...plan, name, schedule };
  return (_target, _key, descriptor) => {
    const method = descriptor.value as object;
    const entries = (Reflect.getOwnMetadata(CELERY_SCHEDULE_METADATA, method) as CeleryScheduleMetadata[] | undefined) ?? [];
    // decorators apply bottom-up: prepend, so the list reads in source order
    Reflect.defineMetadata(CELERY_SCHEDULE_METADATA, [entry, ...entries], method);
  };
}
