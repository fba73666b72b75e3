/** Python `repr` of JSON-like values, truncated like celery's saferepr (argsrepr/kwargsrepr). STUB. */
export function pyRepr(value: unknown, maxLength = 1024): string {
  return JSON.stringify(value).slice(0, maxLength);
}
