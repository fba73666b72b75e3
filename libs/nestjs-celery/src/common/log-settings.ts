/**
 * How the app's and the worker's loggers are set up from options: a level, a format (text, or
 * JSON lines written by the library itself) and the bound of one line.
 */
import type { CeleryLogger } from './logger.js';
import { consoleLogger } from './logger.js';
import { boundedLogger } from './log-line.js';

/** Lowest level logged: 'info' is Nest's `log`. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** 'text': the given logger (Nest's Logger, console, nestjs-pino …); 'json': one JSON object per line on stdout. */
export type LogFormat = 'text' | 'json';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

export interface LogSettings {
  /** default 'info' */
  logLevel?: LogLevel;
  /** default 'text' */
  logFormat?: LogFormat;
  /** every line is cut at this many characters (default 8192) */
  maxLogLineLength?: number;
}

/** A logger writing `{"time","level","context","message"}` lines to stdout (what log shippers read). */
export function jsonLinesLogger(context: string): CeleryLogger {
  const write =
    (level: LogLevel) =>
    (message: string, ...meta: unknown[]) => {
      const line: Record<string, unknown> = { time: new Date().toISOString(), level, context, message };
      if (meta.length) line.meta = meta.map((m) => (m instanceof Error ? { name: m.name, message: m.message, stack: m.stack } : m));
      let text: string;
      try {
        text = JSON.stringify(line);
      } catch {
        text = JSON.stringify({ ...line, meta: meta.map(String) }); // a BigInt or a cycle in meta
      }
      process.stdout.write(`${text}\n`);
    };
  return { log: write('info'), warn: write('warn'), error: write('error'), debug: write('debug') };
}

/** `logger` without the calls below `level`. */
export function leveledLogger(logger: CeleryLogger, level: LogLevel = 'info'): CeleryLogger {
  const rank = LOG_LEVELS.indexOf(level);
  const off = () => undefined;
  return {
    debug: rank <= 0 && logger.debug ? (m, ...meta) => logger.debug!(m, ...meta) : off,
    log: rank <= 1 ? (m, ...meta) => logger.log(m, ...meta) : off,
    warn: rank <= 2 ? (m, ...meta) => logger.warn(m, ...meta) : off,
    error: (m, ...meta) => logger.error(m, ...meta),
  };
}

/**
 * The logger an app or a worker uses: the given one (format 'text'), or JSON lines when the
 * format is 'json' and no logger was given, or a console logger; filtered by level, every line
 * bounded. An explicitly given logger (nestjs-pino, say) formats its own output.
 */
export function configureLogger(given: CeleryLogger | undefined, context: string, settings: LogSettings = {}): CeleryLogger {
  const base = given ?? (settings.logFormat === 'json' ? jsonLinesLogger(context) : consoleLogger(context));
  return boundedLogger(leveledLogger(base, settings.logLevel), settings.maxLogLineLength);
}
