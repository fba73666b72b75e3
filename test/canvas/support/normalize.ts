/**
 * Task messages in a comparable form: decoded body, headers and properties with every id (any
 * UUID, the reply_to oid included) replaced by its order of first appearance, object keys
 * sorted, and what legitimately differs between two senders blanked (origin, the delivery tag,
 * the queue name, eta/expires timestamps).
 */
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Replaces ids by `<idN>` in order of first appearance (one numbering per call of `walk`'s owner). */
export function idNormalizer(names: Record<string, string> = {}): (v: unknown) => unknown {
  const ids = new Map<string, string>();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      let named = v;
      for (const [name, placeholder] of Object.entries(names)) named = named.split(name).join(placeholder);
      return named.replace(UUID, (m) => {
        if (!ids.has(m)) ids.set(m, `<id${ids.size}>`);
        return ids.get(m)!;
      });
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) out[k] = walk((v as Record<string, unknown>)[k]);
      return out;
    }
    return v;
  };
  return walk;
}

/** Messages (raw kombu envelopes) comparable across senders; `names` maps queue names to placeholders. */
export function normalizeMessages(
  envelopes: string[],
  queue: string | Record<string, string>,
  walk = idNormalizer(typeof queue === 'string' ? { [queue]: '<queue>' } : queue),
): unknown[] {
  return envelopes.map((raw) => {
    const envelope = JSON.parse(raw) as { body: string; headers: Record<string, unknown>; properties: Record<string, unknown> } & Record<string, unknown>;
    const body = JSON.parse(Buffer.from(envelope.body, 'base64').toString('utf8')) as unknown;
    const { origin: _origin, eta, expires, ...headers } = envelope.headers;
    const { delivery_tag: _tag, ...properties } = envelope.properties;
    return walk({
      contentType: envelope['content-type'],
      contentEncoding: envelope['content-encoding'],
      headers: { ...headers, eta: eta === null ? null : '<date>', expires: expires === null ? null : '<date>' },
      properties,
      body,
    });
  });
}
