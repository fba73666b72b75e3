// Celery beat, the public part: the Beat and its schedule types, as the root entry and nestjs-celery/engine export them.
export { Beat, type BeatOptions } from './beat.js';
export {
  ScheduleError,
  type BeatEntry,
  type BeatSchedule,
  type CrontabFields,
  type CrontabSchedule,
  type IntervalSchedule,
  type OneOffSchedule,
} from './schedules.js';
