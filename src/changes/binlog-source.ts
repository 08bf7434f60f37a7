import type { ConnectionOptions } from 'mysql2';
import type { RowImage } from './row-images';

/** One row a committed transaction wrote, as the binlog tells it. */
export interface RowChange {
  table: string;
  kind: 'insert' | 'update' | 'delete';
  /** The row after the change; for a delete, the row it deleted. */
  image: RowImage;
}

/** Where the stream stands after a transaction's commit: enough to resume right after it. */
export interface Checkpoint {
  /** MariaDB's GTID position ('0-1-1234') or MySQL's GTID set: what a restart resumes from. */
  gtid: string;
  /** The binlog file and offset, for people: whether the server still has it, how far along it is. */
  file: string;
  position: number;
}

export type StreamItem =
  /** Rows of a transaction, in binlog order; a large transaction comes as several. */
  | { type: 'rows'; changes: RowChange[]; committedAtMs: number }
  | { type: 'commit'; checkpoint: Checkpoint; committedAtMs: number };

export interface BinlogSourceOptions {
  connection: ConnectionOptions;
  database: string;
  tables: readonly string[];
  /** Unique among the server's replicas: MySQL drops an older dump that shares it. */
  serverId: number;
}

/** zongji's error for a position the server no longer has (ER_MASTER_FATAL_ERROR_READING_BINLOG). */
export const BINLOG_PURGED = 1236;

// zongji is ESM-only: loaded on first use, so that importing this module (and the
// whole core with it) stays synchronous.
type ZongJiModule = typeof import('@vlasky/zongji');
let zongji: Promise<ZongJiModule> | undefined;
const loadZongji = () => (zongji ??= import('@vlasky/zongji'));

interface RowsEvent {
  tableId: number;
  tableMap: Record<number, { parentSchema: string; tableName: string }>;
  rows: Array<RowImage | { before: RowImage; after: RowImage }>;
  timestamp: number;
}

/**
 * The server's row-based binary log, read as a replica reads it (zongji), turned into
 * the follower's items: the rows of the registered tables, and a checkpoint at each
 * commit. Only committed transactions are ever in the binlog, so every row handed on
 * is committed (or, in the instant between MySQL's binlog write and its engine
 * commit, about to be).
 */
export class BinlogSource {
  private instance: InstanceType<ZongJiModule['default']> | undefined;

  constructor(private readonly options: BinlogSourceOptions) {}

  /**
   * Resolves once the server has accepted the dump, with the position it starts
   * from. `from`: a checkpoint's GTID, or 'end' for only what commits from now on.
   * Items are handed to `sink` synchronously, in binlog order; `onError` hears every
   * failure after the start (the stream is dead then: stop and start again).
   */
  async start(from: string | 'end', sink: (item: StreamItem) => void, onError: (err: Error) => void): Promise<string> {
    const { default: ZongJi } = await loadZongji();
    // dateStrings: the driver values Drizzle's date columns map from (row-images.ts).
    const z = new ZongJi({ ...this.options.connection, dateStrings: true });
    this.instance = z;
    const tables = new Set(this.options.tables);
    const ready = new Promise<void>((resolve, reject) => {
      z.once('ready', () => resolve());
      z.on('error', (err: Error) => (z.ready ? onError(err) : reject(err)));
    });
    z.on('binlog', (event: { getEventName(): string; timestamp: number } & Partial<RowsEvent>) => {
      const name = event.getEventName();
      if (name === 'xid') {
        // zongji folds the transaction into gtidSet before it hands on the commit.
        const checkpoint = { gtid: z.gtidSet ?? '', file: z.options.filename ?? '', position: z.options.position ?? 0 };
        sink({ type: 'commit', checkpoint, committedAtMs: event.timestamp });
        return;
      }
      const rows = event as RowsEvent;
      const table = rows.tableMap[rows.tableId]?.tableName;
      if (table === undefined || !tables.has(table)) return;
      const changes = rowChanges(table, name, rows.rows);
      if (changes.length > 0) sink({ type: 'rows', changes, committedAtMs: event.timestamp });
    });
    z.start({
      serverId: this.options.serverId,
      ...(from === 'end' ? { startAtEnd: true } : { gtidSet: from }),
      includeEvents: ['tablemap', 'writerows', 'updaterows', 'deleterows', 'xid'],
      includeSchema: { [this.options.database]: [...tables] },
    });
    await ready;
    return z.gtidSet ?? '';
  }

  /** The binlog file and offset the stream has reached (at a transaction boundary). */
  position(): { file: string; position: number } {
    return { file: this.instance?.options.filename ?? '', position: this.instance?.options.position ?? 0 };
  }

  /** Stops reading the socket, so an applier that falls behind holds the server back instead of filling memory. */
  pause(): void {
    this.connectionOf()?.pause();
  }

  resume(): void {
    this.connectionOf()?.resume();
  }

  stop(): void {
    this.instance?.stop();
    this.instance = undefined;
  }

  // zongji does not expose its binlog connection in its types; it pauses and resumes
  // it itself around a metadata fetch, the only other user of these calls.
  private connectionOf(): { pause(): void; resume(): void } | undefined {
    return (this.instance as unknown as { connection?: { pause(): void; resume(): void } } | undefined)?.connection ?? undefined;
  }
}

function rowChanges(table: string, eventName: string, rows: RowsEvent['rows']): RowChange[] {
  switch (eventName) {
    case 'writerows':
      return rows.map((image) => ({ table, kind: 'insert', image: image as RowImage }));
    case 'deleterows':
      return rows.map((image) => ({ table, kind: 'delete', image: image as RowImage }));
    case 'updaterows':
      return (rows as Array<{ before: RowImage; after: RowImage }>).flatMap(({ before, after }): RowChange[] =>
        // An UPDATE of the primary key moves the row: the old id is gone.
        before.id === after.id
          ? [{ table, kind: 'update', image: after }]
          : [
              { table, kind: 'delete', image: before },
              { table, kind: 'insert', image: after },
            ],
      );
    default:
      return [];
  }
}
