/**
 * Bounds on nested message headers: how deep tables/arrays nest and how many values they hold.
 * The AMQP content-header reader applies them while reading; decoded headers (kombu's Redis
 * envelope) are measured here, iteratively, so a deep value cannot overflow the stack.
 */

/** Bounds on a headers table (options of the brokers: maxHeaderDepth, maxHeaderValues). */
export interface HeaderLimits {
  /** tables and arrays nested deeper than this are refused (default 32) */
  maxDepth: number;
  /** more values than this in one headers table, at any depth, are refused (default 10,000) */
  maxValues: number;
}

export const DEFAULT_HEADER_LIMITS: Readonly<HeaderLimits> = { maxDepth: 32, maxValues: 10_000 };

export const headerDepthProblem = (maxDepth: number) => `tables or arrays are nested deeper than ${maxDepth} levels (maxHeaderDepth)`;
export const headerCountProblem = (maxValues: number) => `the headers hold more than ${maxValues} values (maxHeaderValues)`;

/**
 * The walk's stacks, shared by every call (the walk calls out to nothing, so no two overlap):
 * slots are written by index and kept between calls, so a message's walk allocates nothing (a
 * new array per call, grown by push and trimmed by pop, cost a message several allocations).
 * The values are cleared after each walk; stacks grown past KEPT_SLOTS are dropped instead.
 */
let pendingValues: unknown[] = [];
let pendingDepths: number[] = [];
const KEPT_SLOTS = 4096;

/** What is over the bounds in a decoded headers object, or undefined when it is within them. */
export function headerBoundsProblem(headers: Record<string, unknown>, limits: HeaderLimits = DEFAULT_HEADER_LIMITS): string | undefined {
  const stack = pendingValues;
  const depths = pendingDepths;
  let values = 0;
  // the stack's top, and the most slots this walk used (cleared at the end)
  let top = 0;
  let used = 0;
  try {
    for (const key in headers) {
      stack[top] = headers[key];
      depths[top++] = 0;
    }
    used = top;
    while (top > 0) {
      const value = stack[--top];
      const depth = depths[top];
      if (++values > limits.maxValues) return headerCountProblem(limits.maxValues);
      if (typeof value !== 'object' || value === null || Buffer.isBuffer(value) || value instanceof Date) continue;
      if (depth + 1 > limits.maxDepth) return headerDepthProblem(limits.maxDepth);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          stack[top] = value[i];
          depths[top++] = depth + 1;
        }
      } else {
        for (const key in value) {
          stack[top] = (value as Record<string, unknown>)[key];
          depths[top++] = depth + 1;
        }
      }
      if (top > used) used = top;
    }
    return undefined;
  } finally {
    if (top > used) used = top;
    if (used > KEPT_SLOTS) {
      pendingValues = [];
      pendingDepths = [];
    } else {
      // no header value stays reachable from here after the walk
      for (let i = 0; i < used; i++) stack[i] = undefined;
    }
  }
}
