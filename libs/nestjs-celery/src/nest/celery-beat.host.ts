// CeleryBeatHost: runs the module's beat (the `beat` option) from application bootstrap to shutdown.
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { Beat } from '../engine/beat/beat.js';
import type { Celery } from '../engine/celery.js';
import { CeleryClient } from './celery.client.js';
import { MODULE_OPTIONS_TOKEN } from './celery.module-definition.js';
import { celeryLogger, type CeleryModuleOptions } from './celery-module.options.js';

/** The module's beat (`beat` option), on the default client's connection; releases its lead at shutdown. */
@Injectable()
export class CeleryBeatHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private beat?: Beat;

  constructor(
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: CeleryModuleOptions,
    private readonly client: CeleryClient,
  ) {}

  /** The running beat, when the `beat` option is set. */
  get engine(): Beat | undefined {
    return this.beat;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.options.beat) return;
    const beat = new Beat(this.client.unwrap<Celery>(), { ...this.options.beat, logger: celeryLogger(this.options, 'CeleryBeat') });
    await beat.start();
    this.beat = beat;
  }

  async beforeApplicationShutdown(): Promise<void> {
    const beat = this.beat;
    this.beat = undefined;
    await beat?.stop();
  }
}
