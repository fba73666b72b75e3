/**
 * The logical clock Celery keeps per app (kombu/clocks.py `LamportClock`): forwarded for every
 * event and remote-control message sent, adjusted to the `clock` a peer sends, so monitors can
 * order what happened on different nodes.
 */
export class LamportClock {
  constructor(private current = 0) {}

  get value(): number {
    return this.current;
  }

  /** Something happened here: the clock moves on. */
  forward(): number {
    return ++this.current;
  }

  /** A peer's clock arrived: jump past it (kombu: `max(value, other) + 1`). */
  adjust(other: unknown): number {
    const peer = typeof other === 'number' && Number.isFinite(other) ? Math.trunc(other) : typeof other === 'bigint' ? Number(other) : 0;
    this.current = Math.max(this.current, peer) + 1;
    return this.current;
  }
}
