import pino, { type Logger, type LoggerOptions } from 'pino';
import type { Config } from './config.js';

/** Where log lines go, and whether a person reads it (a terminal). */
export interface LogOutput extends NodeJS.WritableStream {
  isTTY?: boolean;
}

interface RequestLine {
  msg?: string;
  method?: string;
  path?: string;
  status?: number;
  ms?: number;
  err?: { message?: string };
}

/** One short line per log entry, for people: requests as `GET /path 200 1.2 ms`, the rest as their message. */
export function humanLine(log: RequestLine): string {
  if (log.msg === 'request' && log.method) return `${log.method} ${log.path} ${log.status} ${log.ms} ms`;
  const err = log.err?.message ? `: ${log.err.message}` : '';
  return `${log.msg ?? ''}${err}`;
}

/**
 * JSON lines, as always, for machines and files. In demo mode at a terminal, one readable line
 * per entry (pino-pretty), so that a newcomer sees each delivery's outcome where they look.
 */
export async function createLogger(
  config: Pick<Config, 'logLevel' | 'demo'>,
  out: LogOutput = process.stdout,
): Promise<Logger> {
  const options: LoggerOptions = { level: config.logLevel, base: { service: 'callhook' } };
  if (config.demo && out.isTTY) {
    // Loaded only where it is used: other servers and the tests never load it.
    const { default: pretty } = await import('pino-pretty');
    return pino(
      options,
      pretty({
        destination: out,
        colorize: true,
        translateTime: 'SYS:HH:MM:ss.l',
        hideObject: true,
        messageFormat: (log) => humanLine(log as RequestLine),
        sync: true,
      }),
    );
  }
  return out === process.stdout ? pino(options) : pino(options, out);
}
