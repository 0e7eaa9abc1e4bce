/**
 * How a wide fan-out is queued: 1,000 tasks that became ready at once, or the 1,000 indexes of a
 * mapped task. In small slices, so that the first tasks run while the rest are still being
 * queued: Redis runs one bulk add as one step, and a worker taking a job (and claiming its task)
 * waits behind it. With slices of 100 the first of 1,000 mapped indexes started about 30 ms after
 * its upstream ended on a loaded machine, with slices of 16 about 12 ms (bench/runner case d).
 */
export const SLICE = 16;

/**
 * Hands `work` the slices of `items` in order, until it returns false. Between two slices the
 * event loop runs what is pending first: a worker in this process picking up the jobs just queued
 * does not wait for the next slice to be built.
 */
export async function inSlices<T>(
  items: readonly T[],
  work: (slice: readonly T[]) => Promise<boolean | void>,
): Promise<void> {
  for (let first = 0; first < items.length; first += SLICE) {
    if (first > 0) await new Promise((resolve) => setImmediate(resolve));
    if ((await work(items.slice(first, first + SLICE))) === false) return;
  }
}
