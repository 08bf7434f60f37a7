import { bigint, datetime, mysqlTable, varchar } from 'drizzle-orm/mysql-core';
import { sql } from 'drizzle-orm';

/**
 * How far the change follower has applied the binlog: one row per follower (today
 * one, 'binlog'). Written only by the instance holding the follower's lease, fenced
 * by that lease (follower-checkpoints.ts), so an instance that lost it can never
 * move the position back. A restart resumes from `gtid`; the file and offset are for
 * people, and to tell whether the server still has the binlog.
 */
export const changeFollowerCheckpoints = mysqlTable('change_follower_checkpoints', {
  name: varchar('name', { length: 64 }).primaryKey(),
  gtid: varchar('gtid', { length: 1024 }).notNull(),
  binlogFile: varchar('binlog_file', { length: 255 }).notNull(),
  binlogPosition: bigint('binlog_position', { mode: 'number', unsigned: true }).notNull(),
  instance: varchar('instance', { length: 128 }).notNull(),
  updatedAt: datetime('updated_at', { mode: 'date', fsp: 3 }).notNull().default(sql`CURRENT_TIMESTAMP(3)`),
});
