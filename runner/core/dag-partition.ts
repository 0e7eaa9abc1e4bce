/**
 * Which scheduler handles a DAG: rendezvous (highest random weight) hashing over the live
 * schedulers. Every scheduler computes the same owner from the same member list with no
 * coordination, and when a scheduler joins or leaves only the DAGs it gains or held move; the
 * others stay where they were, so a membership change does not reshuffle every DAG.
 */

/** A 32-bit hash of `text` (FNV-1a, then murmur3's finaliser so that close inputs spread out). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The member that handles `dagId`; undefined when there is no member. Ties go to the smaller id. */
export function ownerOf(dagId: string, members: readonly string[]): string | undefined {
  let owner: string | undefined;
  let best = -1;
  for (const member of members) {
    const weight = hash32(`${member}\u0000${dagId}`);
    if (weight > best || (weight === best && owner !== undefined && member < owner)) {
      best = weight;
      owner = member;
    }
  }
  return owner;
}

/** The DAG ids of `dagIds` that `member` handles among `members`. */
export function shareOf(member: string, dagIds: Iterable<string>, members: readonly string[]): string[] {
  const out: string[] = [];
  for (const dagId of dagIds) if (ownerOf(dagId, members) === member) out.push(dagId);
  return out;
}
