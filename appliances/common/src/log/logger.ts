import pino from 'pino';

export type Logger = pino.Logger;

export interface LoggerOptions {
  name: string;
  /** pino level; default HDM_LOG_LEVEL or 'info'. 'silent' for tests. */
  level?: string;
  /** File descriptor to write JSON lines to; default 2 (stderr: stdout carries the ready line). */
  fd?: number;
}

/** JSON-lines logger (pino). Services log to stderr; stdout is reserved for machine-readable events. */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    { name: opts.name, level: opts.level ?? process.env.HDM_LOG_LEVEL ?? 'info', base: { pid: process.pid } },
    pino.destination({ fd: opts.fd ?? 2, sync: true }),
  );
}

/** A logger that drops everything (unit tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** A logger that keeps its JSON lines in memory (tests assert on logged reasons). */
export function memoryLogger(level = 'debug'): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}
