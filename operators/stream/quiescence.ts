/**
 * When a stream has gone quiet: the pure core of the stream-quiescence sensor. An observation is
 * what the source holds now (count, bytes, a fingerprint of its objects, the newest write time); the
 * stream is quiet once nothing has changed for the inactivity window. Pure and clock-free: `now` is
 * passed in, so the benchmark can run it on a virtual clock.
 */

export interface Observation {
  count: number;
  bytes: number;
  /** Changes whenever an object is added, overwritten or removed. */
  fingerprint?: string;
  /** When the newest object was written, where the source knows (S3 LastModified). */
  newestAt?: number;
  newestKey?: string;
}

export interface QuiescenceState {
  last: Observation;
  /** When the observed data last changed (ms). */
  lastChangeAt: number;
  /** Consecutive polls that saw no change. */
  unchanged: number;
  polls: number;
}

export interface QuiescenceRule {
  /** Quiet after this long without a change. */
  windowMs: number;
  /** Not quiet below this many objects. @defaultValue 1 */
  minObjects?: number;
  /** Quiet only at exactly this many objects. */
  expectedCount?: number;
  /** Objects disappearing: allowed, or a failure. @defaultValue 'allow' */
  deletes?: 'allow' | 'fail';
}

export type Verdict =
  | { kind: 'quiet'; state: QuiescenceState }
  | { kind: 'waiting'; state: QuiescenceState; reason: string }
  | { kind: 'deleted'; state: QuiescenceState; reason: string };

function changed(a: Observation, b: Observation): boolean {
  return a.count !== b.count || a.bytes !== b.bytes || (a.fingerprint ?? '') !== (b.fingerprint ?? '');
}

export function observe(
  previous: QuiescenceState | undefined,
  observation: Observation,
  now: number,
  rule: QuiescenceRule,
): Verdict {
  const polls = (previous?.polls ?? 0) + 1;
  const isChange = previous === undefined || changed(previous.last, observation);
  let lastChangeAt = previous?.lastChangeAt ?? now;
  if (isChange) {
    // A newer object's write time says when the change happened, so a first poll can already know
    // how long the source has been quiet; a deletion or a change with no newer object happened now.
    const newer =
      observation.newestAt !== undefined &&
      observation.newestAt > (previous?.last.newestAt ?? Number.NEGATIVE_INFINITY);
    lastChangeAt = newer ? Math.min(now, observation.newestAt!) : now;
  }
  const state: QuiescenceState = {
    last: observation,
    lastChangeAt,
    unchanged: isChange ? 0 : (previous?.unchanged ?? 0) + 1,
    polls,
  };
  if (previous && observation.count < previous.last.count && (rule.deletes ?? 'allow') === 'fail') {
    return { kind: 'deleted', state, reason: `objects disappeared: ${previous.last.count} -> ${observation.count}` };
  }
  const minObjects = rule.minObjects ?? 1;
  if (observation.count < minObjects) {
    return { kind: 'waiting', state, reason: `${observation.count} objects, waiting for at least ${minObjects}` };
  }
  if (rule.expectedCount !== undefined && observation.count !== rule.expectedCount) {
    return { kind: 'waiting', state, reason: `${observation.count} of ${rule.expectedCount} expected objects` };
  }
  const quietFor = now - state.lastChangeAt;
  if (quietFor >= rule.windowMs) return { kind: 'quiet', state };
  return { kind: 'waiting', state, reason: `changed ${quietFor} ms ago; quiet after ${rule.windowMs} ms` };
}

/** How long to wait before the next look, given the state after a poll. */
export type PollStrategy = (state: QuiescenceState, now: number) => number;

export const pollStrategies = {
  /** The same interval every time. */
  fixed:
    (intervalMs: number): PollStrategy =>
    () =>
      intervalMs,
  /** The interval divided by the number of unchanged polls so far. */
  divided:
    (intervalMs: number): PollStrategy =>
    (state) =>
      Math.max(1, Math.round(intervalMs / Math.max(1, state.unchanged))),
  /** The interval times e^(-unchanged polls). */
  decaying:
    (intervalMs: number): PollStrategy =>
    (state) =>
      Math.max(1, Math.round(intervalMs * Math.exp(-state.unchanged))),
  /**
   * Look again exactly when the window would have passed since the last change, plus a margin for
   * clock skew and listing lag; never sooner than `minMs`, never later than `maxMs`.
   */
  adaptive:
    (windowMs: number, options: { minMs?: number; maxMs?: number; marginMs?: number } = {}): PollStrategy =>
    (state, now) => {
      const due = state.lastChangeAt + windowMs + (options.marginMs ?? 1_000) - now;
      return Math.min(options.maxMs ?? 5 * 60_000, Math.max(options.minMs ?? 1_000, due));
    },
};

/** FNV-1a, for order-independent fingerprints of (key, etag) pairs (summed and xor-ed). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
