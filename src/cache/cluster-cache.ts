import type { ChainableCommander, Cluster } from 'ioredis';
import { noMetrics, timed, type CoreMetrics } from '../writethrough/core-metrics';
import type { Cache } from './cache';
import { casOutcome, defineCasSet, type CasOutcome } from './cas-script';
import { ClusterNotReadyError } from './cluster-not-ready-error';
import { someAnswered, type CasWrite } from './redis-cache';
import { groupByNode, type NodeBatch, type SlotGroup } from './slot-groups';

/**
 * The cache on a Redis Cluster: the same contract as RedisCache (see cache.ts), with
 * "one round trip" read as one round trip per node, the nodes asked in parallel.
 *
 * A batch's keys are grouped by hash slot (one MGET per slot: MGET must not cross
 * slots) and the slot groups by the node that serves them (one pipeline per node).
 * No hash tag pins a type's keys to one node, so a batch of 100 ids costs one
 * pipeline to each master that holds some of them, and each master answers only
 * for its share.
 *
 * The compare-and-set stays single-key, so it runs on whichever node holds its key;
 * the writes of a batch are grouped the same way, one pipeline per node.
 */
export class ClusterCache implements Cache {
  constructor(
    private readonly cluster: Cluster,
    private readonly metrics: CoreMetrics = noMetrics,
  ) {
    defineCasSet(cluster);
  }

  /** `null` where a key is absent, in the order of `keys`. Rejects if any node cannot answer. */
  async mget(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    return timed(
      () => this.readAll(keys),
      (seconds, ok) => this.metrics.redisCall('mget', seconds, ok),
    );
  }

  /** Each write's own outcome, or the Error it met: one node failing does not fail the others. Never rejects. */
  async casSetMany(writes: readonly CasWrite[]): Promise<Array<CasOutcome | Error>> {
    if (writes.length === 0) return [];
    return timed(
      () => this.writeAll(writes),
      (seconds, ok) => this.metrics.redisCall('cas_set', seconds, ok),
      someAnswered,
    );
  }

  private async readAll(keys: readonly string[]): Promise<Array<string | null>> {
    const values = new Array<string | null>(keys.length).fill(null);
    await Promise.all(
      this.batches(keys).map(async ({ groups }) => {
        const pipeline = this.cluster.pipeline();
        for (const group of groups) pipeline.mget(...group.keys);
        const replies = await execOnOneNode(pipeline);
        const place = (group: SlotGroup, found: Array<string | null>) => group.positions.forEach((position, j) => (values[position] = found[j] ?? null));
        // The usual case, every reply in hand, stays synchronous: no promise per slot group.
        const resent: Array<Promise<void>> = [];
        groups.forEach((group, i) => {
          const reply = replies?.[i];
          if (reply && !reply[0]) return place(group, reply[1] as Array<string | null>);
          resent.push(this.followIfRedirected(reply, () => this.cluster.mget(...group.keys)).then((found) => place(group, found as Array<string | null>)));
        });
        await Promise.all(resent);
      }),
    );
    return values;
  }

  private async writeAll(writes: readonly CasWrite[]): Promise<Array<CasOutcome | Error>> {
    let batches: NodeBatch[];
    try {
      batches = this.batches(writes.map((w) => w.key));
    } catch (err) {
      return writes.map(() => asError(err));
    }
    const outcomes = new Array<CasOutcome | Error>(writes.length);
    await Promise.all(
      batches.map(async ({ groups }) => {
        const positions = groups.flatMap((g) => g.positions);
        const pipeline = this.cluster.pipeline();
        for (const p of positions) {
          const w = writes[p]!;
          pipeline.casSet(w.key, w.version, w.value, w.ttlMs, w.notAfterMs);
        }
        let replies: Array<[Error | null, unknown]> | null;
        try {
          replies = await execOnOneNode(pipeline);
        } catch (err) {
          positions.forEach((p) => (outcomes[p] = asError(err)));
          return;
        }
        await Promise.all(
          positions.map(async (p, i) => {
            const w = writes[p]!;
            try {
              const reply = await this.followIfRedirected(replies?.[i], () => this.cluster.casSet(w.key, w.version, w.value, w.ttlMs, w.notAfterMs));
              outcomes[p] = casOutcome(reply);
            } catch (err) {
              outcomes[p] = asError(err);
            }
          }),
        );
      }),
    );
    return outcomes;
  }

  /** The batch split by node, as the client's slot map has it now (see slot-groups.ts). */
  private batches(keys: readonly string[]): NodeBatch[] {
    // Not ready: no slot map to group by. ioredis would hold a pipeline until the
    // cluster is ready, an offline queue in all but name; fail now instead, like the
    // single client, so that reads go to MySQL and writes are reported.
    if (this.cluster.status !== 'ready') throw new ClusterNotReadyError(this.cluster.status);
    return groupByNode(keys, (slot) => this.cluster.slots[slot]?.[0]);
  }

  /**
   * One command's reply from a node's pipeline. ioredis follows a redirection inside a
   * pipeline only when every failed command in it met the same one, and then sends the
   * whole pipeline to the new node, where the commands of the slots that did not move
   * meet MOVED in turn. So a pipeline spanning several slots, one of which moved, comes
   * back with MOVED (or ASK) on some commands. Those were not run, so each is sent
   * again on its own, as a plain command, which ioredis routes and redirects command
   * by command; so is every command of a pipeline ioredis refused to send (see
   * execOnOneNode). Any other error is the answer.
   */
  private async followIfRedirected(reply: [Error | null, unknown] | undefined, resend: () => Promise<unknown>): Promise<unknown> {
    const [err, value] = reply ?? [new Error('no reply from Redis'), undefined];
    if (!err) return value;
    if (err === NOT_SENT || isRedirection(err)) return resend();
    throw err;
  }
}

/** Stands for the reply of every command of a pipeline that ioredis refused to send. */
const NOT_SENT = new Error('not sent: the slot map changed under the pipeline');

/**
 * Sends a pipeline whose keys the slot map placed on one node. ioredis checks that
 * again against its own grouping of slots, which is not always in step with the map
 * the keys were grouped by: while it follows a MOVED it rewrites the owner of the
 * whole slot range that the moved slot was read in, and only its refresh of the map,
 * a round trip later, puts both right. A pipeline caught in between is refused
 * before anything is sent, and each of its commands is then sent on its own
 * (see followIfRedirected): more round trips while the cluster changes shape, the
 * same answers.
 */
async function execOnOneNode(pipeline: ChainableCommander): Promise<Array<[Error | null, unknown]> | null> {
  try {
    return await pipeline.exec();
  } catch (err) {
    if (err instanceof Error && err.message.includes('should belong to the same slots allocation group')) {
      return Array.from({ length: pipeline.length }, () => [NOT_SENT, undefined] as [Error, unknown]);
    }
    throw err;
  }
}

/** MOVED / ASK: the node does not serve the slot (now, or for this key yet); the command did not run. */
function isRedirection(err: Error): boolean {
  return /^(MOVED|ASK) /.test(err.message);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
