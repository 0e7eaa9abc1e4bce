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

/**
 * Delay after the `failures`-th failed try (1 for the first). Exponential backoff doubles from
 * `delayMs`, with "equal jitter" (half fixed, half random) so that tasks failing together on one
 * outage do not all retry in the same second, and never exceeds `maxDelayMs`.
 */
export function retryDelayMs(policy: RetryPolicy, failures: number, random: () => number = Math.random): number {
  if (policy.backoff === 'fixed') return policy.delayMs;
  const exponent = Math.min(Math.max(failures - 1, 0), 40);
  const base = Math.min(policy.maxDelayMs, policy.delayMs * 2 ** exponent);
  return Math.min(policy.maxDelayMs, Math.round(base / 2 + (random() * base) / 2));
}
