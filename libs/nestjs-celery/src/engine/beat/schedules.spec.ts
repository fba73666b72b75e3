// Unit tests of beat's schedule kinds: when interval, crontab and one-off entries are next due.
import { ScheduleError, nextRunOf } from './schedules.js';

const at = (iso: string) => new Date(iso).getTime();

describe('nextRunOf', () => {
  test('interval: one interval after the last run; relative: on the next multiple of it', () => {
    expect(nextRunOf('e', { every: 10 })(at('2026-01-01T00:00:03Z'))).toBe(at('2026-01-01T00:00:13Z'));
    expect(nextRunOf('e', { every: 3600, relative: true })(at('2026-01-01T05:20:00Z'))).toBe(at('2026-01-01T06:00:00Z'));
  });

  test('crontab: five fields or by name, in its timezone', () => {
    expect(nextRunOf('e', { crontab: '*/15 * * * *' })(at('2026-01-01T00:01:00Z'))).toBe(at('2026-01-01T00:15:00Z'));
    // 07:30 in Paris (UTC+1 in winter)
    expect(nextRunOf('e', { crontab: { minute: 30, hour: 7 }, timezone: 'Europe/Paris' })(at('2026-01-01T00:00:00Z'))).toBe(at('2026-01-01T06:30:00Z'));
  });

  test('crontab: a day must match day_of_month and day_of_week both, as in Celery', () => {
    // the 13th that is a Friday: 2026-02-13
    expect(nextRunOf('e', { crontab: '0 0 13 * 5' })(at('2026-01-01T00:00:00Z'))).toBe(at('2026-02-13T00:00:00Z'));
  });

  test('one-off: its time, whenever the entry was seen', () => {
    const next = nextRunOf('e', { at: '2026-01-01T00:00:05Z' });
    expect(next(at('2026-01-01T00:00:00Z'))).toBe(at('2026-01-01T00:00:05Z'));
    expect(next(at('2026-01-02T00:00:00Z'))).toBe(at('2026-01-01T00:00:05Z'));
  });

  test('a schedule that cannot run is refused with the entry named', () => {
    expect(() => nextRunOf('bad', { every: 0 })).toThrow(ScheduleError);
    expect(() => nextRunOf('bad', { crontab: '61 * * * *' })).toThrow(/beat entry 'bad': crontab/);
    expect(() => nextRunOf('bad', { crontab: '* * * * * *' })).toThrow(ScheduleError);
    expect(() => nextRunOf('bad', { at: 'not a date' })).toThrow(ScheduleError);
    expect(() => nextRunOf('bad', {} as never)).toThrow(ScheduleError);
  });
});
