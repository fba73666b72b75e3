/**
 * A URL with its password masked, for log lines, errors and `inspect conf` replies:
 * `amqp://guest:secret@host//` → `amqp://guest:***@host//`. URLs without a password are
 * returned unchanged.
 */
export function redactUrl(url: string, mask = '***'): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, `$1${mask}@`);
}
