/**
 * Celery's task_routes (celery/app/routes.py): where a task goes when the send names no queue.
 * A route map or a router function, or a list of them tried in order; the first answer wins.
 *
 * A map is Celery's MapRoute: an exact task name first, then its patterns in order. A key
 * containing `*` is a glob (fnmatch: `*`, `?`, `[seq]`, whole name); a RegExp key (given in the
 * list-of-pairs form) matches at the start of the name, as Python's `re.match`. A route is a
 * queue name or `{ queue, exchange, routingKey, priority }`.
 *
 * Precedence is Celery's: an option given to the send (or a task contract's default) wins over
 * the route, the route over the app's default queue.
 */
import { compileGlob, globMatches } from './control/matcher.js';

/** Where a route sends a task. */
export interface TaskRoute {
  queue?: string;
  exchange?: string;
  routingKey?: string;
  priority?: number;
}

/** A queue name, or a route. */
export type TaskRouteValue = string | TaskRoute;

/** Celery's router function `route_task(name, args, kwargs, options)`: a route, or nothing to ask the next router. */
export type RouterFunction = (name: string, args: unknown[], kwargs: Record<string, unknown>, options: TaskRoute) => TaskRouteValue | null | undefined;

/** Celery's MapRoute: `{ name or glob: route }`, or `[name, glob or RegExp, route]` pairs when order or regexes matter. */
export type TaskRouteMap = Record<string, TaskRouteValue> | readonly (readonly [string | RegExp, TaskRouteValue])[];

/**
 * task_routes: one map or router function, or a list of them tried in order. As in Celery, an
 * array at the top is always that list: the pairs form of a map goes inside it.
 */
export type TaskRoutes = Record<string, TaskRouteValue> | RouterFunction | readonly (TaskRouteMap | RouterFunction)[];

const ROUTE_KEYS: Record<keyof TaskRoute, true> = { queue: true, exchange: true, routingKey: true, priority: true };

/** A route value as `{ queue }` or a copy of the route; anything but those four keys is a configuration error. */
function routeOf(value: TaskRouteValue, where: string): TaskRoute {
  if (typeof value === 'string') return { queue: value };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`task route for ${where} must be a queue name or { queue, exchange, routingKey, priority }, got ${JSON.stringify(value)}`);
  }
  const unknown = Object.keys(value).filter((key) => !Object.hasOwn(ROUTE_KEYS, key));
  if (unknown.length) {
    throw new TypeError(
      `task route for ${where} has unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: known are ${Object.keys(ROUTE_KEYS).join(', ')}`,
    );
  }
  return { ...value };
}

type Pattern = { test: (name: string) => boolean; route: TaskRoute };

function isPairs(map: TaskRouteMap): map is readonly (readonly [string | RegExp, TaskRouteValue])[] {
  return Array.isArray(map);
}

/** One MapRoute: exact names, then patterns in the order given. */
function mapRouter(map: TaskRouteMap): RouterFunction {
  const exact = new Map<string, TaskRoute>();
  const patterns: Pattern[] = [];
  const pairs: readonly (readonly [string | RegExp, TaskRouteValue])[] = isPairs(map) ? map : Object.entries(map);
  for (const [key, value] of pairs) {
    const route = routeOf(value, String(key));
    if (key instanceof RegExp) {
      // re.match: anchored at the start only (a sticky copy read from index 0)
      const anchored = new RegExp(key.source, key.flags.replace(/[gy]/g, '') + 'y');
      patterns.push({ test: (name) => ((anchored.lastIndex = 0), anchored.test(name)), route });
    } else if (key.includes('*')) {
      const glob = compileGlob(key);
      patterns.push({ test: (name) => globMatches(name, glob), route });
    } else exact.set(key, route);
  }
  return (name) => exact.get(name) ?? patterns.find((p) => p.test(name))?.route;
}

/** Celery's Router: the routers of task_routes, asked in order. */
export class TaskRouter {
  private readonly routers: RouterFunction[];

  constructor(routes: TaskRoutes | undefined) {
    const list: readonly (TaskRouteMap | RouterFunction)[] =
      routes === undefined ? [] : Array.isArray(routes) ? routes : [routes as TaskRouteMap | RouterFunction];
    this.routers = list.map((r) => (typeof r === 'function' ? r : mapRouter(r)));
  }

  /**
   * The send's options with the route filled in where the send left them unset (Celery's
   * lpmerge(route, options)); the options as given when no router answers.
   */
  route<O extends TaskRoute>(name: string, args: unknown[], kwargs: Record<string, unknown>, options: O): O {
    for (const router of this.routers) {
      const answer = router(name, args, kwargs, {
        queue: options.queue,
        exchange: options.exchange,
        routingKey: options.routingKey,
        priority: options.priority,
      });
      if (answer === null || answer === undefined) continue;
      const merged: O = { ...options };
      for (const [key, value] of Object.entries(routeOf(answer, name)) as [keyof TaskRoute, never][]) {
        if (merged[key] === undefined && value !== undefined) merged[key] = value;
      }
      return merged;
    }
    return options;
  }
}
