import type { Connection, ResultSetHeader } from 'mysql2/promise';
import type { Checkpoint } from './binlog-source';
import type { FollowerLease } from './follower-lease';

/** The lease was lost: the position was not written, and this instance must stop following. */
export class LeaseLostError extends Error {
  readonly code = 'FOLLOWER_LEASE_LOST';
}

const NAME = 'binlog';

/** The follower's stored position (tables.ts), read and written on the lease's session. */
export class FollowerCheckpoints {
  constructor(
    private readonly lease: FollowerLease,
    private readonly instance: string,
  ) {}

  async load(): Promise<Checkpoint | undefined> {
    const [rows] = (await this.session().query(
      'SELECT gtid, binlog_file AS file, binlog_position AS position FROM change_follower_checkpoints WHERE name = ?',
      [NAME],
    )) as unknown as [Array<{ gtid: string; file: string; position: number | string }>];
    const row = rows[0];
    return row && { gtid: row.gtid, file: row.file, position: Number(row.position) };
  }

  /**
   * Written only while this session holds the lease (the SELECT … WHERE is the fence,
   * evaluated by MySQL in the same statement), so a follower that lost the lease
   * cannot overwrite the newer position of the one that took over.
   */
  async save(checkpoint: Checkpoint): Promise<void> {
    const [result] = (await this.session().query(
      `INSERT INTO change_follower_checkpoints (name, gtid, binlog_file, binlog_position, instance, updated_at)
       SELECT ?, ?, ?, ?, ?, NOW(3) FROM DUAL WHERE IS_USED_LOCK(?) = CONNECTION_ID()
       ON DUPLICATE KEY UPDATE gtid = VALUES(gtid), binlog_file = VALUES(binlog_file),
         binlog_position = VALUES(binlog_position), instance = VALUES(instance), updated_at = VALUES(updated_at)`,
      [NAME, checkpoint.gtid, checkpoint.file, checkpoint.position, this.instance, this.lease.name],
    )) as unknown as [ResultSetHeader];
    // updated_at changes on every save, so a held lease always writes (1 inserted, 2 updated).
    if (result.affectedRows === 0) throw new LeaseLostError(`lost the follower lease "${this.lease.name}" before saving the position`);
  }

  private session(): Connection {
    return this.lease.holder;
  }
}
