/**
 * The Celery versions an interop suite runs against: test/support/peers.ts's CELERY_PEERS once it
 * exists (written by the infra work), else Debian's Celery 5.2 alone.
 */
export interface CeleryPeerEnv {
  version: string;
  /** environment for /usr/bin/python3 to import that Celery (PYTHONPATH …); empty for 5.2 */
  env?: NodeJS.ProcessEnv;
}

/** CELERY_PEERS from peers.ts when present, else [5.2]; read at runtime so this compiles without it. */
export async function celeryPeers(): Promise<CeleryPeerEnv[]> {
  const module = './peers.js';
  try {
    const { CELERY_PEERS } = (await import(module)) as { CELERY_PEERS?: unknown };
    const list = Array.isArray(CELERY_PEERS) ? CELERY_PEERS : CELERY_PEERS && typeof CELERY_PEERS === 'object' ? Object.values(CELERY_PEERS) : [];
    const peers = (list as CeleryPeerEnv[]).filter((p) => p && typeof p.version === 'string');
    if (peers.length) return peers;
  } catch {
    // no peers.ts yet
  }
  return [{ version: '5.2' }];
}
