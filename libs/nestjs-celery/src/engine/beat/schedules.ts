// Beat's schedule kinds (Celery's schedule, crontab and clocked) and when each entry is next due.
/**
 * Celery's rules (celery/beat.py is_due, celery/schedules.py), kept here:
 * - an entry never run before counts as last run when the beat first saw it, so an interval's
 *   first run is one interval after that and a crontab's at its next matching time;
 * - a run missed while no beat was running (or leading) fires once, as soon as a beat leads
 *   again, never once per missed run; the next one is counted from then (interval) or is the
 *   next matching time (crontab);
 * - a one-off (`at`, Celery's clocked) runs once at its time, or once as soon as possible if its
 *   time passed while no beat ran, and never again.
 */
import { Cron } from 'croner';

/** Every `every` seconds (Celery's `schedule(run_every)`); `relative`: on multiples of it, as Celery's `relative=True`. */
export interface IntervalSchedule {
  every: number;
  relative?: boolean;
}

/** Celery's crontab fields, each as Celery and cron spell them ('*', '*\/15', '1-5', 'mon-fri' …). */
export interface CrontabFields {
  minute?: string | number;
  hour?: string | number;
  day_of_week?: string | number;
  day_of_month?: string | number;
  month_of_year?: string | number;
}

/**
 * Celery's crontab: five fields (minute hour day-of-month month day-of-week, as a string) or by
 * name; a day must match both day-of-month and day-of-week, as in Celery. In `timezone` (an IANA
 * name, Celery's `timezone` setting), default UTC.
 */
export interface CrontabSchedule {
  crontab: string | CrontabFields;
  timezone?: string;
}

/** Once, at this time (Celery's clocked schedule on a one-off entry). */
export interface OneOffSchedule {
  at: Date | string;
}

/** When an entry runs: every N seconds, on a crontab (Celery's five fields and a timezone), or once at a time. */
export type BeatSchedule = IntervalSchedule | CrontabSchedule | OneOffSchedule;

/** One periodic task, as an entry of Celery's `beat_schedule`. */
export interface BeatEntry {
  /** the task name sent */
  task: string;
  schedule: BeatSchedule;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  /** send options: queue, routingKey, exchange, priority, expires … (Celery's entry `options`) */
  options?: Record<string, unknown>;
}

/** A schedule as a function: when an entry last run (or first seen) at `last` is next due (ms), or null for never. */
export type NextRun = (last: number) => number | null;

/** A schedule nobody can run: a clear message, raised when the beat starts. */
export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

function cronString(fields: string | CrontabFields): string {
  if (typeof fields === 'string') return fields;
  const f = (value: string | number | undefined) => (value === undefined ? '*' : String(value));
  return `${f(fields.minute)} ${f(fields.hour)} ${f(fields.day_of_month)} ${f(fields.month_of_year)} ${f(fields.day_of_week)}`;
}

/** When an entry is next due, from its schedule; throws ScheduleError for a schedule that cannot run. */
export function nextRunOf(name: string, schedule: BeatSchedule): NextRun {
  if ('every' in schedule) {
    const every = schedule.every * 1000;
    if (!(every > 0) || !Number.isFinite(every)) throw new ScheduleError(`beat entry '${name}': every must be a number of seconds > 0, got ${schedule.every}`);
    return schedule.relative ? (last) => (Math.floor(last / every) + 1) * every : (last) => last + every;
  }
  if ('crontab' in schedule) {
    let cron: Cron;
    try {
      cron = new Cron(cronString(schedule.crontab), { timezone: schedule.timezone ?? 'UTC', mode: '5-part', domAndDow: true, paused: true });
    } catch (error) {
      throw new ScheduleError(`beat entry '${name}': crontab ${JSON.stringify(schedule.crontab)}: ${(error as Error).message}`);
    }
    return (last) => cron.nextRun(new Date(last))?.getTime() ?? null;
  }
  if ('at' in schedule) {
    const at = new Date(schedule.at).getTime();
    if (Number.isNaN(at)) throw new ScheduleError(`beat entry '${name}': at must be a date, got ${String(schedule.at)}`);
    // the one run: its time, even when that passed before the entry was first seen (the beat never runs it twice)
    return () => at;
  }
  throw new ScheduleError(`beat entry '${name}': schedule needs every, crontab or at`);
}
