import { expect } from '@jest/globals';
import { DEFAULT_HEADER_LIMITS, headerBoundsProblem, headerCountProblem, headerDepthProblem } from './nesting.js';

/** a value nested `levels` arrays deep */
const nested = (levels: number): unknown => (levels === 0 ? 1 : [nested(levels - 1)]);

describe('headerBoundsProblem', () => {
  it('finds values over the count and tables over the depth, and a later walk starts clean', () => {
    const ok = { id: 'x', timelimit: [null, null], stamps: { a: [1, 2] }, when: new Date(0), raw: Buffer.from('b') };
    expect(headerBoundsProblem(ok)).toBeUndefined();
    // stopped early with values still queued: the next walk must not see them
    expect(headerBoundsProblem({ a: Array.from({ length: 20 }, (_, i) => i), b: [1] }, { maxDepth: 32, maxValues: 5 })).toBe(headerCountProblem(5));
    expect(headerBoundsProblem(ok, { maxDepth: 32, maxValues: 10 })).toBeUndefined();
    expect(headerBoundsProblem(ok, { maxDepth: 32, maxValues: 9 })).toBe(headerCountProblem(9));
    expect(headerBoundsProblem({ deep: nested(40), other: [1, 2, 3] })).toBe(headerDepthProblem(DEFAULT_HEADER_LIMITS.maxDepth));
    expect(headerBoundsProblem({ deep: nested(32) })).toBeUndefined();
    expect(headerBoundsProblem({ deep: nested(33) })).toBe(headerDepthProblem(32));
    expect(headerBoundsProblem(ok)).toBeUndefined();
  });

  it('counts every value at any depth, also past the slots kept between walks', () => {
    const wide = { list: Array.from({ length: 6000 }, (_, i) => [i]) };
    // 1 list + 6000 arrays + 6000 numbers
    expect(headerBoundsProblem(wide, { maxDepth: 32, maxValues: 12_001 })).toBeUndefined();
    expect(headerBoundsProblem(wide, { maxDepth: 32, maxValues: 12_000 })).toBe(headerCountProblem(12_000));
    expect(headerBoundsProblem({ a: 1, b: [2, 3] }, { maxDepth: 32, maxValues: 3 })).toBe(headerCountProblem(3));
    expect(headerBoundsProblem({ a: 1, b: [2, 3] }, { maxDepth: 32, maxValues: 4 })).toBeUndefined();
  });
});
