// What a CeleryServer takes from the CeleryModule it is connected to: its own module so the
// server and the explorer that implements it do not import each other.
import type { CeleryModuleOptions } from './celery-module.options.js';
import type { CeleryTaskBinding } from './celery-task.runner.js';
import type { PythonErrorRegistry } from './python-error.registry.js';

/** What a CeleryServer takes from the CeleryModule of the app it is connected to. */
export interface CeleryTaskSource {
  readonly options: CeleryModuleOptions;
  readonly errors: PythonErrorRegistry;
  /** every `@CeleryTask` handler of the app (discovered once) */
  tasks(): CeleryTaskBinding[];
}
