/** The logging surface every layer uses; Nest's Logger satisfies it, and so does console. */
export interface CeleryLogger {
  /** Routine lines: a task received, a task succeeded, a worker ready (Python's INFO). */
  log(message: string, ...meta: unknown[]): void;
  /** Something went wrong and was handled: a lost connection, a refused message (Python's WARNING). */
  warn(message: string, ...meta: unknown[]): void;
  /** A task failed or a message could not be handled (Python's ERROR). */
  error(message: string, ...meta: unknown[]): void;
  /** Detail for diagnosis, off unless the log level is `debug` (Python's DEBUG). */
  debug?(message: string, ...meta: unknown[]): void;
}

const prefix = (context: string) => `[nestjs-celery] ${context}:`;

/** A console logger with a context prefix; debug lines only when NESTJS_CELERY_DEBUG is set. */
export function consoleLogger(context: string): CeleryLogger {
  const p = prefix(context);
  return {
    log: (m, ...meta) => console.log(p, m, ...meta),
    warn: (m, ...meta) => console.warn(p, m, ...meta),
    error: (m, ...meta) => console.error(p, m, ...meta),
    debug: (m, ...meta) => {
      if (process.env.NESTJS_CELERY_DEBUG) console.debug(p, m, ...meta);
    },
  };
}

/** A logger that drops everything (tests that assert on behaviour, not on output). */
export const silentLogger: CeleryLogger = { log() {}, warn() {}, error() {}, debug() {} };
