/**
 * Credentials masked for log lines, errors, the banner and `inspect conf` replies: the password
 * of every URL in a text (failover lists too), secret query parameters (`?password=…`), and
 * secret keys of option objects (transport, sentinel and TLS options).
 * `amqp://guest:s@cret@host//` → `amqp://guest:***@host//`.
 */

/** Query parameters and option keys whose values are secrets. */
const SECRET_KEY =
  /^(?:.*[_-])?(?:password|passwd|pass|pwd|secret|token|passphrase|credentials?|auth|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key)$/i;
/** Option keys holding key material itself (PEM text or a Buffer), not a path to it. */
const KEY_MATERIAL = /^(?:key|pfx|cert[_-]?key)$/i;

/** scheme://, then everything up to the last '@' before the next URL of a list: a password may hold '@', '/', '?', '#' or spaces (over-masking is the safe side). */
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^;,]*)@/gi;
const SECRET_PARAM = /([?&;]([a-z0-9_.-]+)=)([^&#\s;,]*)/gi;

/** Every URL in `text` with its password and secret query parameters masked. */
export function redactUrl(text: string, mask = '***'): string {
  return text
    .replace(URL_USERINFO, (_match, scheme: string, userinfo: string) => {
      // the user name is what comes before the first ':'; no ':' means no password
      const colon = userinfo.indexOf(':');
      return colon < 0 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}:${mask}@`;
    })
    .replace(SECRET_PARAM, (match, prefix: string, key: string) => (SECRET_KEY.test(key) ? `${prefix}${mask}` : match));
}

/**
 * A copy of an options object (transport options, sentinel kwargs, TLS options) with secret
 * values masked and URLs redacted, at any depth; for logs, errors and `inspect` replies.
 */
export function redactSecrets(value: unknown, mask = '***', depth = 0): unknown {
  if (typeof value === 'string') return redactUrl(value, mask);
  if (depth > 16 || value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `<${(value as Uint8Array).byteLength} bytes>`;
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, mask, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    out[key] = item != null && (SECRET_KEY.test(key) || KEY_MATERIAL.test(key)) ? mask : redactSecrets(item, mask, depth + 1);
  }
  return out;
}
