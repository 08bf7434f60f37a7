import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { groupByNode, SlotUnassignedError } from '../../src/cache/slot-groups';

/** Three masters splitting the slots as `redis-cli --cluster create` does. */
const threeMasters = (slot: number) => (slot <= 5460 ? 'a:1' : slot <= 10922 ? 'b:2' : 'c:3');

describe('groupByNode: splitting a batch of keys for a Redis Cluster', () => {
  const keys = Array.from({ length: 100 }, (_, i) => `tl:user:${i + 1}`);

  it('puts every key in exactly one slot group, on the node that serves its slot', () => {
    const batches = groupByNode(keys, threeMasters);
    const positions = batches.flatMap((b) => b.groups.flatMap((g) => g.positions)).sort((x, y) => x - y);
    expect(positions).toEqual(keys.map((_, i) => i));
    for (const { node, groups } of batches) {
      for (const group of groups) {
        expect(threeMasters(group.slot)).toBe(node);
        group.keys.forEach((key, j) => {
          expect(calculateSlot(key)).toBe(group.slot);
          expect(keys[group.positions[j]!]).toBe(key);
        });
      }
    }
  });

  it('makes one batch per node and one group per slot', () => {
    const batches = groupByNode(keys, threeMasters);
    expect(batches.map((b) => b.node).sort()).toEqual(['a:1', 'b:2', 'c:3']);
    const slots = batches.flatMap((b) => b.groups.map((g) => g.slot));
    expect(new Set(slots).size).toBe(slots.length);
    expect(slots.length).toBe(new Set(keys.map((k) => calculateSlot(k))).size);
  });

  it('keeps keys of one hash tag together, and a key given twice at both positions', () => {
    const batches = groupByNode(['{x}:1', 'tl:user:1', '{x}:2', 'tl:user:1'], threeMasters);
    const groups = batches.flatMap((b) => b.groups);
    expect(groups.find((g) => g.keys.includes('{x}:1'))).toMatchObject({ keys: ['{x}:1', '{x}:2'], positions: [0, 2] });
    expect(groups.find((g) => g.keys.includes('tl:user:1'))).toMatchObject({ keys: ['tl:user:1', 'tl:user:1'], positions: [1, 3] });
  });

  it('refuses to guess when no node serves a slot', () => {
    expect(() => groupByNode(keys, () => undefined)).toThrow(SlotUnassignedError);
  });
});
