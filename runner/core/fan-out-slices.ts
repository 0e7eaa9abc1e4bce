/**
 * How a wide fan-out is queued: 1,000 tasks that became ready at once, or the 1,000 indexes of a
 * mapped task. In slices, the first one small, so that the first tasks run while the rest are
 * still being queued.
 */
export const FIRST_SLICE = 16;
export const SLICE = 100;

/**
 * Hands `work` the slices of `items` in order, until it returns false. Between two slices the
 * event loop runs what is pending first: a worker in this process picking up the jobs just queued
 * does not wait for the next slice to be built.
 */
export async function inSlices<T>(
  items: readonly T[],
  work: (slice: readonly T[]) => Promise<boolean | void>,
): Promise<void> {
  for (let first = 0; first < items.length;) {
    const size = first === 0 ? FIRST_SLICE : SLICE;
    if ((await work(items.slice(first, first + size))) === false) return;
    first += size;
    if (first < items.length) await new Promise((resolve) => setImmediate(resolve));
  }
}
