import { ConflictError, DatabaseUnavailableError, InvalidInputError, ThroughlineError } from '../errors';

interface DriverError {
  code?: string;
  errno?: number;
  fatal?: boolean;
  sqlMessage?: string;
}

/** Errors that mean MySQL is unreachable or dropped us, rather than that a statement was wrong. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_LOCK_WAIT_TIMEOUT',
]);

/**
 * Drizzle wraps driver errors (DrizzleQueryError, with the SQL and parameters) and
 * mysql2 may wrap them again; the MySQL error code is on the innermost one. mysql2's
 * refusal to use a connection that has closed ("Can't add new command when connection
 * is in closed state", thrown by the ROLLBACK Drizzle sends after MySQL died
 * mid-transaction) has no code at all, only `fatal`.
 */
function driverError(err: unknown): DriverError | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const candidate = e as DriverError;
    if (typeof candidate.code === 'string' || typeof candidate.errno === 'number' || candidate.fatal === true) return candidate;
  }
  return undefined;
}

/**
 * A transaction InnoDB rolled back to break a deadlock, or one that waited too long
 * for a lock: nothing of it was applied, so running it again is safe.
 */
export function isLockConflict(err: unknown): boolean {
  const code = driverError(err)?.code;
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}

/** A deadlock is resolved at once; a lock wait timeout takes innodb_lock_wait_timeout each. */
const LOCK_CONFLICT_ATTEMPTS = 3;

/**
 * Runs a transaction again when InnoDB rolled it back for a lock conflict (see
 * `isLockConflict`), up to three times in all; any other error, or the third
 * conflict, is thrown. `onRetry` hears each conflict that is retried.
 */
export async function retryingLockConflicts<R>(run: () => Promise<R>, onRetry: (err: unknown, attempt: number) => void = () => {}): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (attempt >= LOCK_CONFLICT_ATTEMPTS || !isLockConflict(err)) throw err;
      onRetry(err, attempt);
    }
  }
}

/**
 * Turns a MySQL failure into the error a caller can act on. Errors that are already
 * ours pass through; anything unrecognised is returned unchanged (an internal error,
 * logged in full and masked in responses).
 */
export function translateDatabaseError(err: unknown, entity: string): unknown {
  if (err instanceof ThroughlineError) return err;
  const driver = driverError(err);
  if (!driver) return err;
  if ((driver.code && UNAVAILABLE_CODES.has(driver.code)) || driver.fatal) {
    return new DatabaseUnavailableError(err);
  }
  // A CHECK refused the row (src/db/schema.ts: values GraphQL's Int can answer). MySQL
  // says ER_CHECK_CONSTRAINT_VIOLATED (3819); MariaDB's 4025, ER_CONSTRAINT_FAILED, is
  // one mysql2 names after another server's error, so it is known by its number.
  if (driver.code === 'ER_CHECK_CONSTRAINT_VIOLATED' || driver.errno === 4025) {
    const column = /[a-z]+_([a-z_]+)_fits_int/.exec(driver.sqlMessage ?? '')?.[1];
    return new InvalidInputError(column ? `${column} is larger than 2147483647` : 'a value is out of range', column);
  }
  switch (driver.code) {
    case 'ER_DUP_ENTRY': {
      const key = /for key '(?:[^'.]*\.)?([^']+)'/.exec(driver.sqlMessage ?? '')?.[1];
      const field = key ? uniqueField(key) : undefined;
      return new ConflictError(
        field ? `another ${entity} already has this ${field}` : `another ${entity} already has these values`,
        field ? { field } : {},
      );
    }
    case 'ER_ROW_IS_REFERENCED':
    case 'ER_ROW_IS_REFERENCED_2':
      return new ConflictError(`this ${entity} is still referenced by other records`);
    case 'ER_NO_REFERENCED_ROW':
    case 'ER_NO_REFERENCED_ROW_2':
      return new ConflictError(`a record this ${entity} refers to was deleted meanwhile`);
    case 'ER_NO_DEFAULT_FOR_FIELD':
    case 'ER_BAD_NULL_ERROR': {
      const field = /(?:Field|Column) '([^']+)'/.exec(driver.sqlMessage ?? '')?.[1];
      return new InvalidInputError(field ? `${field} is required` : 'a required value is missing', field);
    }
    case 'ER_DATA_TOO_LONG':
    case 'ER_WARN_DATA_OUT_OF_RANGE':
    case 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD': {
      // Validation should have stopped this first; keep the column, not the SQL.
      const column = /column '([^']+)'/i.exec(driver.sqlMessage ?? '')?.[1];
      return new InvalidInputError(
        column ? `value for ${column} is out of range or too long` : 'a value is out of range',
        column,
      );
    }
    default:
      return err;
  }
}

/** Unique keys are named `<table>_<column>_unique` in src/db/schema.ts. */
function uniqueField(key: string): string | undefined {
  const match = /^[a-z]+_([a-z_]+)_unique$/.exec(key);
  return match?.[1];
}
