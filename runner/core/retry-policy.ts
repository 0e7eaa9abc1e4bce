/** How long to wait before the next try of a failed task. Pure. */
import { durationMs } from './duration.ts';
import type { TaskArgs } from './dag-options.ts';

export interface RetryPolicy {
  retries: number;
  delayMs: number;
  backoff: 'fixed' | 'exponential';
  maxDelayMs: number;
}

export const DEFAULT_RETRY_DELAY = '5m';
export const DEFAULT_MAX_RETRY_DELAY = '1h';

export function retryPolicyOf(args: TaskArgs): RetryPolicy {
  return {
    retries: args.retries ?? 0,
    delayMs: durationMs(args.retryDelay ?? DEFAULT_RETRY_DELAY),
    backoff: args.retryBackoff ?? 'fixed',
    maxDelayMs: durationMs(args.maxRetryDelay ?? DEFAULT_MAX_RETRY_DELAY),
  };
}

/** Airflow's ceiling on one retry delay (`MAX_RETRY_DELAY`, 24 hours), applied before `maxDelayMs`. */
const MAX_RETRY_DELAY_MS = 86_400_000;

/**
 * Delay after the `failures`-th failed try (1 for the first), as Airflow's
 * `TaskInstance.next_retry_datetime` computes it. Fixed: `delayMs`. Exponential: a whole number of
 * seconds in [b, 2b), where b = max(1 s, ceil(delay * 2^(failures-1))), so the first retry waits at
 * least `retryDelay` and a 0 s delay still waits 1 s; the spread keeps tasks that failed together on
 * one outage from retrying in the same second. Never more than 24 h, nor than `maxDelayMs`.
 */
export function retryDelayMs(policy: RetryPolicy, failures: number, random: () => number = Math.random): number {
  if (policy.backoff === 'fixed') return policy.delayMs;
  // Past 2^60 the doubling has long passed every cap; stop before the number stops being exact.
  const exponent = Math.min(failures - 1, 60);
  const minimumS = Math.max(1, Math.ceil((policy.delayMs / 1_000) * 2 ** exponent));
  const delayS = minimumS + Math.floor(Math.min(random(), 0.999_999) * minimumS);
  return Math.min(policy.maxDelayMs, MAX_RETRY_DELAY_MS, delayS * 1_000);
}
