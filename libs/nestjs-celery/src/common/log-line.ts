/**
 * Bounded log lines: anything a message controls (a task name, an id list, an error text) ends
 * up in some line, so the worker's logger cuts every line at a bound instead of trusting each
 * call site.
 */
import type { CeleryLogger } from './logger.js';

/** Default bound of one log line, in characters (a stack trace fits; a 1 MB task name does not). */
export const DEFAULT_MAX_LOG_LINE_LENGTH = 8192;

/** Default bound of one field inside a line (a task name, a result or exception repr), as Celery's resultrepr_maxsize. */
export const DEFAULT_MAX_LOG_FIELD_LENGTH = 1024;

/** `text` cut to `max` characters, saying how many were left out. */
export function clipLogText(text: string, max = DEFAULT_MAX_LOG_LINE_LENGTH): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… [${text.length - max} more characters cut (maxLogLineLength)]`;
}

/** `logger` with every message cut to `max` characters (string meta arguments too). */
export function boundedLogger(logger: CeleryLogger, max = DEFAULT_MAX_LOG_LINE_LENGTH): CeleryLogger {
  const clip = (meta: unknown[]) => meta.map((m) => (typeof m === 'string' ? clipLogText(m, max) : m));
  const bounded: CeleryLogger = {
    log: (m, ...meta) => logger.log(clipLogText(m, max), ...clip(meta)),
    warn: (m, ...meta) => logger.warn(clipLogText(m, max), ...clip(meta)),
    error: (m, ...meta) => logger.error(clipLogText(m, max), ...clip(meta)),
  };
  if (logger.debug) bounded.debug = (m, ...meta) => logger.debug!(clipLogText(m, max), ...clip(meta));
  return bounded;
}
