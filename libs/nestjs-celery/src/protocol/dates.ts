/**
 * ISO-8601 dates as Celery 5.2 writes and reads them.
 *
 * Writing follows Python's `datetime.isoformat()`: six fraction digits, or none at all when the
 * microseconds are zero. Never fewer: Celery 5.2's reader (celery/utils/iso8601.py) takes the
 * fraction digits as an integer number of microseconds, so `.123` would mean 123 µs to it.
 * Reading is per ISO (`.123` = 123 ms) and accepts everything Celery or other clients write.
 */

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** `YYYY-MM-DDTHH:MM:SS[.ffffff]` of the UTC time; JS dates carry ms, so the last 3 digits are 0. */
function naiveUtc(date: Date): string {
  const t = date.getTime();
  if (Number.isNaN(t)) throw new RangeError('cannot format an invalid Date as ISO-8601');
  const year = date.getUTCFullYear();
  // Python's datetime cannot hold anything else
  if (year < 1 || year > 9999) throw new RangeError(`year ${year} is outside Python's datetime range 1..9999`);
  const ms = date.getUTCMilliseconds();
  return (
    `${pad(year, 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}` +
    `T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}` +
    (ms === 0 ? '' : `.${pad(ms, 3)}000`)
  );
}

/** Aware UTC isoformat like Python: `2024-05-01T10:00:05.123000+00:00` (6-digit fraction, omitted when 0). */
export function toIsoString(date: Date): string {
  return naiveUtc(date) + '+00:00';
}

/** kombu 5.2's JSON form of a datetime: isoformat() with `Z` instead of `+00:00` (kombu/utils/json.py). */
export function toJsonIsoString(date: Date): string {
  return naiveUtc(date) + 'Z';
}

/** the last "now" formatted by nowNaiveUtcIso: a worker stores many results within one millisecond */
let lastNowMs = Number.NaN;
let lastNowIso = '';

/** `datetime.utcnow().isoformat()`: naive UTC, used for date_done in 5.2. */
export function nowNaiveUtcIso(now?: Date): string {
  if (now) return naiveUtc(now);
  const ms = Date.now();
  if (ms !== lastNowMs) {
    lastNowIso = naiveUtc(new Date(ms));
    lastNowMs = ms;
  }
  return lastNowIso;
}

// date, then optional time with optional seconds/fraction, then optional offset
// (Z, ±HH, ±HHMM, ±HH:MM). Month/day may have one digit, as Celery's own reader allows.
const ISO_RE = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
}

/** Parse what Celery writes (aware, `Z`, or naive = UTC). Throws RangeError on garbage. */
export function parseIsoDate(text: string): Date {
  const m = typeof text === 'string' ? ISO_RE.exec(text.trim()) : null;
  if (!m) throw new RangeError(`invalid ISO-8601 date: ${JSON.stringify(text)}`);
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', , sign, oh = '0', om = '0'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const offsetHours = Number(oh);
  const offsetMinutes = Number(om);
  if (
    year < 1 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    offsetHours > 23 ||
    offsetMinutes > 59
  ) {
    throw new RangeError(`invalid ISO-8601 date (field out of range): ${JSON.stringify(text)}`);
  }
  // per ISO the digits are a decimal fraction of a second; a JS Date keeps milliseconds
  const ms = frac ? Number(frac.padEnd(3, '0').slice(0, 3)) : 0;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // setUTCFullYear keeps years < 100 as they are
  date.setUTCHours(hour, minute, second, ms);
  const offset = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes);
  return offset === 0 ? date : new Date(date.getTime() - offset * 60_000);
}
