import { uniqueName } from '../../support/services.js';

/** A private in-process broker + backend per suite, so suites and tests never share queues. */
export function memoryUrls(prefix = 'e2e'): { broker: string; backend: string } {
  const url = `memory://${uniqueName(prefix)}`;
  return { broker: url, backend: url };
}
