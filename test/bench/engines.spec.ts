/** bench/report.ts's belowEngines: a run on a Node the package does not support says so. */
import { belowEngines } from '../../bench/report.js';

describe('bench Node below the engines', () => {
  it('names the engines range when the version is below its minimum', () => {
    expect(belowEngines('v20.20.2', '>=22.13.0')).toBe('>=22.13.0');
    expect(belowEngines('v22.12.9', '>=22.13.0')).toBe('>=22.13.0');
    expect(belowEngines('v22.13.0', '>=22.13.0')).toBeUndefined();
    expect(belowEngines('v24.1.0', '>=22.13.0')).toBeUndefined();
    expect(belowEngines('v22.14.0', '>=22.13.5')).toBeUndefined();
  });

  it('says nothing when either cannot be read', () => {
    expect(belowEngines('v20.20.2', '')).toBeUndefined();
    expect(belowEngines('nightly', '>=22.13.0')).toBeUndefined();
  });
});
