// CeleryBeatHost: runs the module's beat (the `beat` option, plus the app's @CelerySchedule entries) from
// application bootstrap to shutdown.
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { Beat } from '../engine/beat/beat.js';
import type { Celery } from '../engine/celery.js';
import type { BeatEntry } from '../engine/beat/schedules.js';
import { CELERY_LOGGER_CONTEXT } from './celery.constants.js';
import { CeleryClient } from './celery.client.js';
import { CeleryExplorer } from './celery.explorer.js';
import { MODULE_OPTIONS_TOKEN } from './celery.module-definition.js';
import { celeryLogger, type CeleryModuleOptions } from './celery-module.options.js';

/**
 * The module's beat (`beat` option) on the default client's connection, its schedule the
 * `beat.schedule` map and the app's `@CelerySchedule` entries (a name in both is a startup
 * error); releases its lead at shutdown.
 */
@Injectable()
export class CeleryBeatHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private beat?: Beat;

  constructor(
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: CeleryModuleOptions,
    private readonly client: CeleryClient,
    private readonly explorer: CeleryExplorer,
  ) {}

  /** The running beat, when the `beat` option is set. */
  get engine(): Beat | undefined {
    return this.beat;
  }

  async onApplicationBootstrap(): Promise<void> {
    const decorated = this.explorer.schedules();
    if (!this.options.beat) {
      const names = Object.keys(decorated);
      if (names.length) {
        new Logger(CELERY_LOGGER_CONTEXT).log(
          `@CelerySchedule entries ${names.join(', ')} do not run in this app: it has no beat (set the module's beat option where they should run)`,
        );
      }
      return;
    }
    const schedule: Record<string, BeatEntry> = { ...this.options.beat.schedule };
    for (const [name, entry] of Object.entries(decorated)) {
      if (Object.hasOwn(schedule, name))
        throw new Error(`beat entry '${name}' is declared twice: in the module's beat.schedule and by @CelerySchedule; entry names must be unique`);
      schedule[name] = entry;
    }
    const beat = new Beat(this.client.unwrap<Celery>(), { ...this.options.beat, schedule, logger: celeryLogger(this.options, 'CeleryBeat') });
    await beat.start();
    this.beat = beat;
  }

  async beforeApplicationShutdown(): Promise<void> {
    const beat = this.beat;
    this.beat = undefined;
    await beat?.stop();
  }
}
