/**
 * Celery's stamps (5.3+, celery/canvas.py `Signature.stamp`, celery/app/amqp.py `as_task_v2`):
 * on the wire a task message carries `stamped_headers` (the stamp names) and `stamps`
 * ({name: value}); inside a signature dict the names are `options.stamped_headers` and each
 * value is an option of its own name. Matching a revoke by stamp follows celery/worker/request.py.
 */

/** Stamp name → value (a value may be a list: several stamps under one name). */
export type Stamps = Record<string, unknown>;

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);

/** Celery's maybe_list for a stamp value: a list stays a list, anything else is one item. */
export function stampValues(value: unknown): unknown[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The names of `stamped_headers` (a header or a signature option), strings only; Celery's `or []`. */
export function stampedHeaderNames(value: unknown): string[] {
  if (typeof value === 'string') return value ? [value] : [];
  return Array.isArray(value) ? value.filter((n): n is string => typeof n === 'string') : [];
}

/**
 * The stamps of a received message (Celery's Request.stamps): one entry per name listed in
 * `stamped_headers`, its value from the `stamps` header (null when missing).
 */
export function stampsFromHeaders(headers: Record<string, unknown>): { stampedHeaders: string[]; stamps: Stamps } {
  const stampedHeaders = stampedHeaderNames(headers.stamped_headers);
  const values = isRecord(headers.stamps) ? headers.stamps : {};
  const stamps: Stamps = {};
  for (const name of stampedHeaders) stamps[name] = values[name] ?? null;
  return { stampedHeaders, stamps };
}

/** The two headers `as_task_v2` writes for these stamps. */
export function stampHeaders(stamps: Stamps): { stamped_headers: string[]; stamps: Stamps } {
  return { stamped_headers: Object.keys(stamps), stamps: { ...stamps } };
}

/** The stamps a signature's options carry (`stamped_headers` plus one option per name). */
export function stampsFromOptions(options: Record<string, unknown>): Stamps | undefined {
  const names = stampedHeaderNames(options.stamped_headers);
  if (!names.length) return undefined;
  const stamps: Stamps = {};
  for (const name of names) stamps[name] = options[name] ?? null;
  return stamps;
}

/**
 * Merge new stamps over existing ones as Celery's `_stamp_headers` does: a new value replaces
 * the old one, or with `appendStamps` both are kept as a list (new first).
 */
export function mergeStamps(existing: Stamps | undefined, incoming: Stamps, appendStamps = false): Stamps {
  const merged: Stamps = { ...(existing ?? {}) };
  for (const [name, value] of Object.entries(incoming)) {
    if (!appendStamps || !(name in merged)) merged[name] = value;
    else merged[name] = [...stampValues(value), ...stampValues(merged[name])];
  }
  return merged;
}

/**
 * Which revoked stamp a message's stamps match (celery/worker/request.py `revoked`): the first
 * stamp name flagged, any of its values among the revoked values. Undefined when none matches.
 */
export function matchRevokedStamp(stamps: Stamps, revoked: ReadonlyMap<string, unknown[]>): { name: string; value: unknown } | undefined {
  if (!revoked.size) return undefined;
  for (const [name, value] of Object.entries(stamps)) {
    const flagged = revoked.get(name);
    if (!flagged) continue;
    for (const v of stampValues(value)) if (flagged.some((f) => sameStamp(f, v))) return { name, value: v };
  }
  return undefined;
}

/** Stamp values compare as Python's `==` does for JSON values (numbers, strings, lists, dicts). */
export function sameStamp(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'bigint' || typeof b === 'bigint') return Number(a) === Number(b);
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
