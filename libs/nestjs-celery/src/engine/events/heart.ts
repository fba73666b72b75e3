/**
 * The worker's event heartbeat (celery/worker/heartbeat.py `Heart`): `worker-online` at start,
 * `worker-heartbeat` every `interval` seconds (2 by default), `worker-offline` at stop. Monitors
 * (Flower, `celery events`, Python workers' gossip) hold a worker alive while heartbeats keep
 * coming within `freq × 2` seconds. Not the AMQP connection heartbeat.
 */
import type { EventDispatcher } from './event-dispatcher.js';
import { loadAverage, SOFTWARE_INFO } from './event.js';

export const DEFAULT_HEARTBEAT_INTERVAL = 2.0;

/** The worker's numbers a heartbeat reports. */
export interface HeartbeatStats {
  /** tasks running now */
  active: number;
  /** tasks accepted since start */
  processed: number;
}

export class Heart {
  private timer?: NodeJS.Timeout;
  private beating?: Promise<unknown>;

  constructor(
    private readonly dispatcher: EventDispatcher,
    private readonly stats: () => HeartbeatStats,
    readonly interval = DEFAULT_HEARTBEAT_INTERVAL,
  ) {
    if (!(interval > 0)) throw new RangeError(`the heartbeat interval must be a positive number of seconds, got ${interval}`);
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  async start(): Promise<void> {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.interval * 1000);
    this.timer.unref();
    await this.send('worker-online');
  }

  /** Stop the beat and say goodbye (`worker-offline`). */
  async stop(): Promise<void> {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    await this.send('worker-offline');
  }

  /**
   * The `heartbeat` remote-control command: one `worker-heartbeat` now, with `freq` 5 and the
   * software fields only (celery/worker/control.py `heartbeat`). `celery events` asks for it.
   */
  requested(): Promise<boolean> {
    return this.dispatcher.send('worker-heartbeat', { freq: 5, ...SOFTWARE_INFO });
  }

  private tick(): void {
    // a heartbeat still waiting for the broker is not queued behind by another: they would
    // all arrive late, together, after an outage
    if (this.beating) return;
    this.beating = this.send('worker-heartbeat').finally(() => (this.beating = undefined));
  }

  private send(type: string): Promise<boolean> {
    const { active, processed } = this.stats();
    return this.dispatcher.send(type, { freq: this.interval, active, processed, loadavg: loadAverage(), ...SOFTWARE_INFO });
  }
}
