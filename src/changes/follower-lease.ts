import type { Connection } from 'mysql2/promise';

/**
 * One change follower at a time, across any number of instances: a MySQL named lock
 * (GET_LOCK), held by one dedicated session. MySQL releases it the moment that
 * session ends, so when the follower's process dies (its socket closes) another
 * instance's next attempt takes it over, within one poll.
 *
 * The lock is also the fence. The checkpoint is written on the same session, by a
 * statement that only writes while this session holds the lock (follower-checkpoints.ts):
 * an instance that lost the lease without noticing (a stall, a network split) cannot
 * move the stored position. Its cache writes need no fence: they are compare-and-sets
 * by version, harmless from any number of writers.
 */
export class FollowerLease {
  private session: Connection | undefined;

  /** `name`: one per database, so services on different databases of one server follow side by side. */
  constructor(
    private readonly connect: () => Promise<Connection>,
    readonly name: string,
  ) {}

  /** One attempt, without waiting: true when this instance holds the lease now. */
  async tryAcquire(): Promise<boolean> {
    const session = await this.open();
    const [[row]] = (await session.query('SELECT GET_LOCK(?, 0) AS got', [this.name])) as unknown as [[{ got: number | null }]];
    return row?.got === 1;
  }

  /** Asked of the server: a session that died took the lock with it. */
  async held(): Promise<boolean> {
    if (!this.session) return false;
    const [[row]] = (await this.session.query('SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS held', [this.name])) as unknown as [
      [{ held: number | null }],
    ];
    return row?.held === 1;
  }

  /** The session holding the lock, for the statements it fences. */
  get holder(): Connection {
    if (!this.session) throw new Error('the follower lease is not held');
    return this.session;
  }

  /**
   * Releases the lock by closing its session: MySQL frees a session's locks when its
   * connection closes. Closed, not ended politely, so that a MySQL that has stopped
   * answering cannot hold up a shutdown, and a query waiting on the session fails at once.
   */
  async release(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    session?.destroy();
  }

  private async open(): Promise<Connection> {
    if (this.session) return this.session;
    const session = await this.connect();
    // A session that breaks has lost the lock: forget it, so the next attempt opens a new one.
    session.on('error', () => {
      if (this.session === session) this.session = undefined;
      session.destroy();
    });
    this.session = session;
    return session;
  }
}
