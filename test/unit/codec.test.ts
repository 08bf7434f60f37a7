import { describe, expect, it } from 'vitest';
import { users, type UserRow } from '../../src/db/schema';
import { rowCodec } from '../../src/writethrough/codec';

const codec = rowCodec<UserRow>(users);
const row: UserRow = {
  id: 7,
  name: 'Ada',
  email: 'ada@example.com',
  bio: null,
  version: 3,
  createdAt: new Date('2026-11-23T10:15:30.123Z'),
  updatedAt: new Date('2026-11-23T11:00:00.456Z'),
};

describe('rowCodec', () => {
  it('gives back the same row, dates to the millisecond', () => {
    expect(codec.decode(JSON.parse(codec.encode(row)))).toEqual(row);
  });

  it('writes dates as epoch milliseconds, which decode without parsing a date string', () => {
    expect(JSON.parse(codec.encode(row))).toMatchObject({ createdAt: 1795428930123, updatedAt: 1795431600456 });
  });

  it('still reads the ISO strings earlier releases cached', () => {
    expect(codec.decode(JSON.parse(JSON.stringify(row)))).toEqual(row);
  });
});
