import type { Connection } from 'mysql2/promise';

/** MySQL's error for a privilege the user lacks (ER_SPECIFIC_ACCESS_DENIED_ERROR). */
export const ACCESS_DENIED = 1227;

/** What the follower needs of the server, and what to grant the user it reads the binlog as. */
export const PRIVILEGE_FIX =
  "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '<user>'@'<host>' (on MariaDB ≥ 10.5, REPLICATION CLIENT is called BINLOG MONITOR)";

/**
 * Why the follower cannot read this server's binlog, each with the exact setting to
 * turn on; empty when it can. Asked before each attempt to follow, so an operator who
 * fixes the server needs no restart of the service.
 */
export async function binlogProblems(session: Connection): Promise<{ problems: string[]; mariadb: boolean }> {
  const [[s]] = (await session.query(
    'SELECT @@log_bin AS logBin, @@binlog_format AS format, @@binlog_row_image AS image, VERSION() AS version',
  )) as unknown as [[{ logBin: number; format: string; image: string; version: string }]];
  const mariadb = /mariadb/i.test(s.version);
  const problems: string[] = [];
  if (Number(s.logBin) !== 1) {
    const gtid = mariadb ? '' : ' --gtid-mode=ON --enforce-gtid-consistency=ON';
    problems.push(`the binary log is off (log_bin = OFF): start the server with --log-bin --server-id=1 --binlog-format=ROW --binlog-row-image=FULL${gtid}`);
    return { problems, mariadb };
  }
  if (s.format.toUpperCase() !== 'ROW') problems.push(`binlog_format is ${s.format}: set binlog_format = ROW (SET GLOBAL binlog_format = 'ROW', and in the server's configuration)`);
  if (s.image.toUpperCase() !== 'FULL') problems.push(`binlog_row_image is ${s.image}: set binlog_row_image = FULL (SET GLOBAL binlog_row_image = 'FULL', and in the server's configuration)`);
  if (!mariadb) {
    // MySQL resumes by GTID only with GTIDs on; MariaDB always has them.
    const [[g]] = (await session.query('SELECT @@gtid_mode AS mode')) as unknown as [[{ mode: string }]];
    if (g.mode.toUpperCase() !== 'ON') problems.push(`gtid_mode is ${g.mode}: set gtid_mode = ON and enforce_gtid_consistency = ON`);
  }
  // Reading the binlog's list needs the same privilege as following it (REPLICATION CLIENT).
  const denied = await session.query('SHOW BINARY LOGS').then(
    () => false,
    (err: { errno?: number }) => {
      if (err.errno === ACCESS_DENIED) return true;
      throw err;
    },
  );
  if (denied) problems.push(`the MySQL user may not read the binlog: ${PRIVILEGE_FIX}`);
  return { problems, mariadb };
}

/** The server's current GTID position, to tell whether the follower has applied everything it logged. */
export async function serverGtid(session: Connection, mariadb: boolean): Promise<string> {
  // Each flavour refuses to parse the other's variable, even in a branch not taken.
  const [[row]] = (await session.query(`SELECT ${mariadb ? '@@gtid_binlog_pos' : '@@gtid_executed'} AS gtid`)) as unknown as [[{ gtid: string }]];
  return row.gtid ?? '';
}
