/**
 * Signal names as `revoke(terminate=True, signal=…)` sends them, to numbers
 * (celery/platforms.py `Signals.signum`): an int as is, else an upper-case name with or
 * without the SIG prefix. A Node worker cannot signal a running function; the number is
 * reported in the task-revoked event, like Celery does.
 */
import { constants } from 'node:os';

export function signum(name: unknown): number {
  if (name === null || name === undefined || name === '') return constants.signals.SIGTERM;
  if (typeof name === 'number' && Number.isInteger(name)) return name;
  if (typeof name !== 'string' || name !== name.toUpperCase()) throw new TypeError('signal name must be uppercase string.');
  const full = (name.startsWith('SIG') ? name : `SIG${name}`) as keyof typeof constants.signals;
  const n = constants.signals[full];
  if (n === undefined) throw new TypeError(`unknown signal ${JSON.stringify(name)}: use a name such as SIGTERM or KILL`);
  return n;
}
