/** The logging surface every layer uses; Nest's Logger satisfies it, and so does console. */
export interface CeleryLogger {
  log(message: string, ...meta: unknown[]): void;
  warn(message: string, ...meta: unknown[]): void;
  error(message: string, ...meta: unknown[]): void;
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
