import { describe, expect, it } from 'vitest';
import { isLockConflict } from '../../src/db/errors';

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
