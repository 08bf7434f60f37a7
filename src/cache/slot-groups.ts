import calculateSlot from 'cluster-key-slot';

/** The keys of one batch that hash to one slot, and where each stood in the batch. */
export interface SlotGroup {
  slot: number;
  keys: string[];
  /** `positions[i]` is the index in the batch of `keys[i]`. */
  positions: number[];
}

/** The slot groups one node serves: one round trip (a pipeline) to that node. */
export interface NodeBatch {
  /** `host:port`, as the client's slot map names it. */
  node: string;
  groups: SlotGroup[];
}

/**
 * Splits a batch of keys for a Redis Cluster: by hash slot first (a multi-key command
 * such as MGET must hold keys of one slot, or the node answers CROSSSLOT), then the
 * slot groups by the node that serves their slot (an ioredis pipeline must go to one
 * node). Keys keep their positions, so replies can be put back in the batch's order;
 * a key given twice is asked twice and answered at both positions.
 *
 * `ownerOf` answers from the client's slot map, which may be out of date: a node that
 * no longer serves a slot answers MOVED, and the caller follows it.
 *
 * Throws {@link SlotUnassignedError} when the map has no node for a slot (a cluster
 * the client has not reached, or one that does not cover every slot).
 */
export function groupByNode(keys: readonly string[], ownerOf: (slot: number) => string | undefined): NodeBatch[] {
  const bySlot = new Map<number, SlotGroup>();
  keys.forEach((key, position) => {
    const slot = calculateSlot(key);
    let group = bySlot.get(slot);
    if (!group) bySlot.set(slot, (group = { slot, keys: [], positions: [] }));
    group.keys.push(key);
    group.positions.push(position);
  });
  const byNode = new Map<string, NodeBatch>();
  for (const group of bySlot.values()) {
    const node = ownerOf(group.slot);
    if (node === undefined) throw new SlotUnassignedError(group.slot);
    let batch = byNode.get(node);
    if (!batch) byNode.set(node, (batch = { node, groups: [] }));
    batch.groups.push(group);
  }
  return [...byNode.values()];
}

/** The client knows no node for a slot, so it cannot tell where a key lives. */
export class SlotUnassignedError extends Error {
  constructor(readonly slot: number) {
    super(`no Redis Cluster node serves slot ${slot} (the cluster is not reachable, or not every slot is assigned)`);
    this.name = 'SlotUnassignedError';
  }
}
