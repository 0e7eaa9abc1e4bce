import { describe, expect, it } from 'vitest';
import { hash32, ownerOf, shareOf } from '../runner/core/dag-partition.ts';

const dagIds = Array.from({ length: 3_000 }, (_, i) => `data_lake__scale_${i}`);
const three = ['scheduler-a', 'scheduler-b', 'scheduler-c'];

describe('rendezvous partition of DAGs among schedulers', () => {
  it('gives every DAG exactly one owner, the same whatever the order the members are listed in', () => {
    const shares = three.map((member) => shareOf(member, dagIds, three));
    expect(shares.flat().sort()).toEqual([...dagIds].sort());
    const reversed = [...three].reverse();
    for (const dagId of dagIds) expect(ownerOf(dagId, reversed)).toBe(ownerOf(dagId, three));
  });

  it('splits DAGs roughly evenly: each of three schedulers gets between a quarter and 40 %', () => {
    for (const member of three) {
      const share = shareOf(member, dagIds, three).length / dagIds.length;
      expect(share).toBeGreaterThan(0.25);
      expect(share).toBeLessThan(0.4);
    }
  });

  it('moves only the DAGs of a scheduler that leaves, and spreads them over the others', () => {
    const survivors = ['scheduler-a', 'scheduler-c'];
    const held = new Set(shareOf('scheduler-b', dagIds, three));
    for (const dagId of dagIds) {
      const before = ownerOf(dagId, three);
      const after = ownerOf(dagId, survivors);
      if (held.has(dagId)) expect(survivors).toContain(after);
      else expect(after).toBe(before);
    }
    const takenByA = [...held].filter((dagId) => ownerOf(dagId, survivors) === 'scheduler-a').length;
    expect(takenByA / held.size).toBeGreaterThan(0.3);
    expect(takenByA / held.size).toBeLessThan(0.7);
  });

  it('moves to a scheduler that joins only DAGs it takes, from any of the others', () => {
    const four = [...three, 'scheduler-d'];
    for (const dagId of dagIds) {
      const after = ownerOf(dagId, four);
      if (after !== 'scheduler-d') expect(after).toBe(ownerOf(dagId, three));
    }
    expect(shareOf('scheduler-d', dagIds, four).length).toBeGreaterThan(dagIds.length / 8);
  });

  it('has one scheduler alone handle everything, and no owner without schedulers', () => {
    expect(shareOf('scheduler-a', dagIds, ['scheduler-a'])).toHaveLength(dagIds.length);
    expect(ownerOf('data_lake__orders', [])).toBeUndefined();
  });

  it('hashes to unsigned 32-bit integers that differ for close inputs', () => {
    const hashes = new Set(dagIds.map(hash32));
    expect(hashes.size).toBe(dagIds.length);
    for (const h of hashes) expect(h >>> 0).toBe(h);
  });
});
