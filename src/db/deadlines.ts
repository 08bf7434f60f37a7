import type { Pool, PoolConnection } from 'mysql2/promise';

export interface MySqlDeadlines {
  /** The longest one statement may wait for MySQL's answer. */
  statementMs: number;
  /** The longest a transaction may hold its connection, from checkout (waiting for one included) to release. */
  transactionMs: number;
}

/** MySQL did not answer in time; the connection it was waiting on has been closed. */
export class MySqlDeadlineError extends Error {
  /** Read as a lost connection by db/errors.ts: SERVICE_UNAVAILABLE to callers. */
  readonly code = 'PROTOCOL_SEQUENCE_TIMEOUT';
  readonly fatal = true;

  constructor(what: string, ms: number, sql?: string) {
    super(`MySQL did not answer ${what} within ${ms} ms${sql ? ` (${sql.slice(0, 80)})` : ''}; the connection was closed`);
    this.name = 'MySqlDeadlineError';
  }
}

type Query = (options: unknown, values?: unknown) => Promise<unknown>;

/**
 * The pool as Drizzle uses it (`query`, `execute`, `getConnection`, and on a checked-out
 * connection `query`, `execute`, `release`), with every wait bounded: a MySQL that hangs
 * (stopped, a network that drops packets without resetting) fails the request after
 * the deadline instead of holding it until MySQL answers, which may be never.
 *
 * A deadline closes the connection it expired on. That is the point, not a side
 * effect: mysql2 answers a connection's commands in order, so the ROLLBACK Drizzle
 * sends after a failed statement would wait behind the hung one; and a transaction
 * whose connection is closed before its COMMIT was sent is rolled back by MySQL, so a
 * request that failed for a deadline did not write (if its COMMIT was already out, it
 * may have: then its write intent is what tells).
 */
export function withDeadlines(pool: Pool, deadlines: MySqlDeadlines): Pool {
  const bounded = {
    query: (options: unknown, values?: unknown) => pooled(pool, deadlines, (c) => c.query(options as never, values as never)),
    execute: (options: unknown, values?: unknown) => pooled(pool, deadlines, (c) => c.execute(options as never, values as never)),
    getConnection: () => checkOut(pool, deadlines),
  };
  return bounded as unknown as Pool;
}

/** A statement outside a transaction: on a connection of its own for the statement's time. */
async function pooled(pool: Pool, deadlines: MySqlDeadlines, run: (c: PoolConnection) => Promise<unknown>): Promise<unknown> {
  const connection = await checkOut(pool, { ...deadlines, transactionMs: deadlines.statementMs });
  try {
    return await run(connection);
  } finally {
    connection.release();
  }
}

/** A connection under a transaction deadline, each of its statements under the statement deadline. */
async function checkOut(pool: Pool, deadlines: MySqlDeadlines): Promise<PoolConnection> {
  const until = Date.now() + deadlines.transactionMs;
  const connection = await withinDeadline(pool.getConnection(), deadlines.transactionMs, 'with a free connection', (late) => late.release());
  let expired: MySqlDeadlineError | undefined;
  const bound =
    (method: Query): Query =>
    (options, values) => {
      if (expired) return Promise.reject(expired);
      const sql = typeof options === 'string' ? options : (options as { sql?: string }).sql;
      const expire = (err: MySqlDeadlineError) => {
        // Every later statement on it fails at once, the ROLLBACK included.
        expired = err;
        connection.destroy();
        return Promise.reject(err);
      };
      const left = until - Date.now();
      // Not sent at all once the transaction is out of time: a COMMIT sent late would commit.
      if (left <= 0) return expire(new MySqlDeadlineError('the transaction', deadlines.transactionMs, sql));
      const ms = Math.min(deadlines.statementMs, left);
      return withinDeadline(method.call(connection, options, values), ms, 'a statement', undefined, sql).catch((err: unknown) =>
        err instanceof MySqlDeadlineError ? expire(err) : Promise.reject(err),
      );
    };
  return Object.assign(Object.create(connection) as PoolConnection, {
    query: bound(connection.query as Query),
    execute: bound(connection.execute as Query),
    // A destroyed connection has left the pool already.
    release: () => (expired ? undefined : connection.release()),
  });
}

/** `work`, or a MySqlDeadlineError after `ms`; `lateResult` gets what `work` brings after that. */
function withinDeadline<T>(work: Promise<T>, ms: number, what: string, lateResult?: (value: T) => void, sql?: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new MySqlDeadlineError(what, ms, sql));
    }, ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        if (late) lateResult?.(value);
        else resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (!late) reject(err);
      },
    );
  });
}
