/** ISO-8601 dates as Celery 5.2 writes and reads them. STUB: signatures fixed. */

/** Aware UTC isoformat like Python: `2024-05-01T10:00:05.123000+00:00` (6-digit fraction, omitted when 0). */
export function toIsoString(date: Date): string {
  return date.toISOString();
}

/** `datetime.utcnow().isoformat()`: naive UTC, used for date_done in 5.2. */
export function nowNaiveUtcIso(now: Date = new Date()): string {
  return now.toISOString().replace('Z', '');
}

/** Parse what Celery writes (aware, `Z`, or naive = UTC). Throws RangeError on garbage. */
export function parseIsoDate(text: string): Date {
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) throw new RangeError(`invalid ISO-8601 date: ${text}`);
  return d;
}
