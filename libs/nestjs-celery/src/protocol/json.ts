/**
 * JSON exactly as Python's json module (kombu's default serializer) writes and reads it.
 * STUB: signatures are fixed; implementation pending.
 */

/** Python `json.dumps` defaults: ensure_ascii=True, allow_nan=True (NaN, Infinity), separators ', ' and ': '. BigInt is written as a plain integer. */
export function dumps(value: unknown): string {
  return JSON.stringify(value);
}

/** Python-compatible parse: accepts NaN/Infinity/-Infinity; integers beyond 2^53 become BigInt (never silently rounded). Throws SyntaxError on invalid input. */
export function loads(text: string): unknown {
  return JSON.parse(text);
}
