/** The e2e suites' call shape for test/support/eventually.ts: (condition, timeoutMs, what). */
import { eventually, EVENTUALLY_TIMEOUT_MS } from '../../support/eventually.js';

export const waitFor = (condition: () => boolean | Promise<boolean>, timeoutMs = EVENTUALLY_TIMEOUT_MS, what = 'condition'): Promise<void> =>
  eventually(condition, what, timeoutMs, 10);
