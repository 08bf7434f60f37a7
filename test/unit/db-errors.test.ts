import { describe, expect, it } from 'vitest';
import { DatabaseUnavailableError } from '../../src/errors';
import { isLockConflict, retryingLockConflicts, translateDatabaseError } from '../../src/db/errors';

/** How mysql2 reports them, and how Drizzle wraps them (DrizzleQueryError, with the driver's error as `cause`). */
const driver = (code: string, errno: number) => Object.assign(new Error(code), { code, errno });
const wrapped = (cause: Error) => Object.assign(new Error('Failed query: insert into `write_through_failures` …'), { cause });

describe('isLockConflict', () => {
  it('knows a deadlock and a lock wait timeout, bare or wrapped by Drizzle', () => {
    expect(isLockConflict(driver('ER_LOCK_DEADLOCK', 1213))).toBe(true);
    expect(isLockConflict(wrapped(driver('ER_LOCK_DEADLOCK', 1213)))).toBe(true);
    expect(isLockConflict(wrapped(driver('ER_LOCK_WAIT_TIMEOUT', 1205)))).toBe(true);
  });

  it('leaves every other failure alone: those are not safe to run again blindly', () => {
    expect(isLockConflict(wrapped(driver('ER_DUP_ENTRY', 1062)))).toBe(false);
    expect(isLockConflict(driver('ECONNREFUSED', -111))).toBe(false);
    expect(isLockConflict(new Error('something else'))).toBe(false);
  });
});

describe('translateDatabaseError', () => {
  it('turns a CHECK refusal, as MySQL and as MariaDB report it, into BAD_USER_INPUT naming the column', () => {
    const mariadb = Object.assign(driver('ER_INNODB_AUTOEXTEND_SIZE_OUT_OF_RANGE', 4025), {
      sqlMessage: 'CONSTRAINT `products_price_cents_fits_int` failed for `tl`.`products`',
    });
    const mysql8 = Object.assign(driver('ER_CHECK_CONSTRAINT_VIOLATED', 3819), { sqlMessage: "Check constraint 'orders_total_cents_fits_int' is violated." });
    expect(translateDatabaseError(wrapped(mariadb), 'product')).toMatchObject({ code: 'BAD_USER_INPUT', message: 'price_cents is larger than 2147483647' });
    expect(translateDatabaseError(mysql8, 'order')).toMatchObject({ code: 'BAD_USER_INPUT', message: 'total_cents is larger than 2147483647' });
  });

  it('calls a closed connection unavailable, though mysql2 gives that error no code', () => {
    // What Drizzle's ROLLBACK throws when MySQL died in the middle of the transaction.
    const closed = Object.assign(new Error("Can't add new command when connection is in closed state"), { fatal: true });
    expect(translateDatabaseError(closed, 'user')).toBeInstanceOf(DatabaseUnavailableError);
    expect(translateDatabaseError(wrapped(closed), 'user')).toBeInstanceOf(DatabaseUnavailableError);
    expect((translateDatabaseError(closed, 'user') as DatabaseUnavailableError).cause).toBe(closed);
  });

  it('calls a lost connection unavailable, and leaves an error it does not know alone', () => {
    expect(translateDatabaseError(wrapped(driver('PROTOCOL_CONNECTION_LOST', -1)), 'user')).toBeInstanceOf(DatabaseUnavailableError);
    const unknown = new Error('something else');
    expect(translateDatabaseError(unknown, 'user')).toBe(unknown);
  });
});

describe('retryingLockConflicts', () => {
  /** A transaction that fails with each of `errors` in turn, then answers 'done'. */
  const failing = (...errors: Error[]) => {
    let calls = 0;
    const run = async () => {
      const err = errors[calls++];
      if (err) throw err;
      return 'done';
    };
    return { run, calls: () => calls };
  };

  it('runs a transaction InnoDB rolled back for a deadlock again, and says so each time', async () => {
    const t = failing(wrapped(driver('ER_LOCK_DEADLOCK', 1213)), driver('ER_LOCK_WAIT_TIMEOUT', 1205));
    const retried: number[] = [];
    await expect(retryingLockConflicts(t.run, (_, attempt) => retried.push(attempt))).resolves.toBe('done');
    expect(t.calls()).toBe(3);
    expect(retried).toEqual([1, 2]);
  });

  it('throws the third lock conflict in a row', async () => {
    const third = driver('ER_LOCK_DEADLOCK', 1213);
    const t = failing(driver('ER_LOCK_DEADLOCK', 1213), driver('ER_LOCK_DEADLOCK', 1213), third);
    await expect(retryingLockConflicts(t.run)).rejects.toBe(third);
  });

  it('throws any other error at once, without running again', async () => {
    const lost = driver('PROTOCOL_CONNECTION_LOST', -1);
    const t = failing(lost);
    await expect(retryingLockConflicts(t.run)).rejects.toBe(lost);
    expect(t.calls()).toBe(1);
  });
});
