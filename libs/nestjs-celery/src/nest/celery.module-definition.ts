// The ConfigurableModuleBuilder behind CeleryModule (forRoot/forRootAsync options and extras).
import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { CeleryModuleOptions } from './celery-module.options.js';

/** Options only `forRoot`/`forRootAsync` read (not part of the options value). */
export interface CeleryModuleExtras {
  /** register the clients app-wide (default true, like TypeOrmModule.forRoot) */
  isGlobal: boolean;
  /**
   * Names of the `clients` the options will contain. forRoot reads them from `clients`;
   * forRootAsync needs them up front, because a provider per name is declared before the
   * factory runs.
   */
  clientNames: string[];
}

export const {
  ConfigurableModuleClass,
  /** The injection token of CeleryModule's options, exported as `CELERY_MODULE_OPTIONS`: inject it to read the module's configuration. */
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<CeleryModuleOptions>({
  moduleName: 'Celery',
})
  .setClassMethodName('forRoot')
  .setExtras<CeleryModuleExtras>({ isGlobal: true, clientNames: [] }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
