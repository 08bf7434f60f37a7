import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export interface CapturedLogs {
  logger: Logger;
  /** Every line written so far, parsed. */
  lines: Array<Record<string, any>>;
  /** The lines at error level (50) or above. */
  errors(): Array<Record<string, any>>;
}

/** A pino logger at debug level whose lines the test reads back, instead of a silent one. */
export function captureLogs(): CapturedLogs {
  const lines: Array<Record<string, any>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines, errors: () => lines.filter((l) => l.level >= 50) };
}
