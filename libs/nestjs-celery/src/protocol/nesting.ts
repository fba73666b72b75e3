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

/** What is over the bounds in a decoded headers object, or undefined when it is within them. */
export function headerBoundsProblem(headers: Record<string, unknown>, limits: HeaderLimits = DEFAULT_HEADER_LIMITS): string | undefined {
  let values = 0;
  // a stack of values and one of their depths (no pair allocated per value: this runs on every message)
  const stack: unknown[] = [];
  const depths: number[] = [];
  for (const key in headers) {
    stack.push(headers[key]);
    depths.push(0);
  }
  while (stack.length) {
    const value = stack.pop();
    const depth = depths.pop()!;
    if (++values > limits.maxValues) return headerCountProblem(limits.maxValues);
    if (typeof value !== 'object' || value === null || Buffer.isBuffer(value) || value instanceof Date) continue;
    if (depth + 1 > limits.maxDepth) return headerDepthProblem(limits.maxDepth);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        stack.push(value[i]);
        depths.push(depth + 1);
      }
    } else {
      for (const key in value) {
        stack.push((value as Record<string, unknown>)[key]);
        depths.push(depth + 1);
      }
    }
  }
  return undefined;
}
