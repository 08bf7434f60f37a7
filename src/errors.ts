/**
 * The errors the write-through core raises. They know nothing of GraphQL; each
 * carries the code the API reports in `extensions.code`, and infrastructure errors
 * keep their cause so logs show what really failed.
 */
export type ErrorCode = 'BAD_USER_INPUT' | 'NOT_FOUND' | 'CONFLICT' | 'SERVICE_UNAVAILABLE';

export abstract class ThroughlineError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The caller asked for something malformed; nothing was read or written. */
export class InvalidInputError extends ThroughlineError {
  readonly code = 'BAD_USER_INPUT';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export class NotFoundError extends ThroughlineError {
  readonly code = 'NOT_FOUND';
  constructor(
    readonly entity: string,
    readonly id: number,
  ) {
    super(`${entity} ${id} does not exist`);
  }
}

/** The write lost to another one (a stale expectedVersion, a duplicate, a reference). */
export class ConflictError extends ThroughlineError {
  readonly code = 'CONFLICT';
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/**
 * MySQL did not answer (down, unreachable, or past a deadline): the write did not
 * happen and nothing was cached, unless its COMMIT was already on its way, in which
 * case it may have committed (a read shows its version; its write intent repairs the cache).
 */
export class DatabaseUnavailableError extends ThroughlineError {
  readonly code = 'SERVICE_UNAVAILABLE';
  constructor(cause: unknown) {
    super('the database is unavailable; try again shortly', { cause });
  }
}
