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
  return new BoundedConnection(connection, deadlines, until) as unknown as PoolConnection;
}

/** What Drizzle calls on a checked-out connection (a class: nothing is allocated per statement but the wait). */
class BoundedConnection {
  private expired: MySqlDeadlineError | undefined;

  constructor(
    private readonly pooled: PoolConnection,
    private readonly deadlines: MySqlDeadlines,
    private readonly until: number,
  ) {}

  query(options: unknown, values?: unknown): Promise<unknown> {
    return this.run(this.pooled.query as Query, options, values);
  }

  execute(options: unknown, values?: unknown): Promise<unknown> {
    return this.run(this.pooled.execute as Query, options, values);
  }

  release(): void {
    // A destroyed connection has left the pool already.
    if (!this.expired) this.pooled.release();
  }

  private run(method: Query, options: unknown, values: unknown): Promise<unknown> {
    if (this.expired) return Promise.reject(this.expired);
    const left = this.until - Date.now();
    // Not sent at all once the transaction is out of time: a COMMIT sent late would commit.
    if (left <= 0) return this.expire(new MySqlDeadlineError('the transaction', this.deadlines.transactionMs, sqlOf(options)));
    const ms = Math.min(this.deadlines.statementMs, left);
    return withinDeadline(method.call(this.pooled, options, values), ms, 'a statement', undefined, options).catch((err: unknown) =>
      err instanceof MySqlDeadlineError ? this.expire(err) : Promise.reject(err),
    );
  }

  /** Every later statement on it fails at once, the ROLLBACK included. */
  private expire(err: MySqlDeadlineError): Promise<never> {
    this.expired = err;
    this.pooled.destroy();
    return Promise.reject(err);
  }
}

function sqlOf(options: unknown): string | undefined {
  return typeof options === 'string' ? options : (options as { sql?: string } | undefined)?.sql;
}

/** `work`, or a MySqlDeadlineError after `ms`; `lateResult` gets what `work` brings after that. */
function withinDeadline<T>(work: Promise<T>, ms: number, what: string, lateResult?: (value: T) => void, statement?: unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new MySqlDeadlineError(what, ms, sqlOf(statement)));
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
