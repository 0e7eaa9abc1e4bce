/**
 * Airflow's trigger rules: when a task may run, given the terminal states of its direct upstream
 * tasks. The names are Airflow's so that a team moving over reads them unchanged.
 */
export const TRIGGER_RULES = [
  'all_success',
  'all_failed',
  'all_done',
  'all_done_min_one_success',
  'all_skipped',
  'one_success',
  'one_failed',
  'one_done',
  'none_failed',
  'none_failed_min_one_success',
  'none_skipped',
  'always',
] as const;

export type TriggerRule = (typeof TRIGGER_RULES)[number];

/** The states a task instance can be in. Terminal states end a try for good. */
export type TaskInstanceState =
  | 'none'
  | 'scheduled'
  | 'running'
  | 'up_for_retry'
  | 'up_for_reschedule'
  | 'success'
  | 'failed'
  | 'skipped'
  | 'upstream_failed';

export const TERMINAL_STATES: ReadonlySet<TaskInstanceState> = new Set([
  'success',
  'failed',
  'skipped',
  'upstream_failed',
]);

export function isTerminal(state: TaskInstanceState): boolean {
  return TERMINAL_STATES.has(state);
}

/** What to do with a task that has not started, given its direct upstream states. */
export type TriggerDecision = 'run' | 'skip' | 'upstream_failed' | 'wait';

export interface UpstreamCounts {
  total: number;
  success: number;
  failed: number;
  upstreamFailed: number;
  skipped: number;
  /** Upstream tasks in a terminal state. */
  done: number;
}

export function countUpstream(states: readonly TaskInstanceState[]): UpstreamCounts {
  const counts = { total: states.length, success: 0, failed: 0, upstreamFailed: 0, skipped: 0, done: 0 };
  for (const state of states) {
    if (state === 'success') counts.success++;
    else if (state === 'failed') counts.failed++;
    else if (state === 'upstream_failed') counts.upstreamFailed++;
    else if (state === 'skipped') counts.skipped++;
    if (isTerminal(state)) counts.done++;
  }
  return counts;
}

/**
 * Airflow's trigger rule semantics. A task with no upstream runs at once. Rules that can be decided
 * before every upstream is done (`one_success`, `one_failed`, `one_done`, `all_success` on a failure…)
 * decide early, as Airflow does.
 */
export function evaluateTriggerRule(rule: TriggerRule, c: UpstreamCounts): TriggerDecision {
  if (c.total === 0 || rule === 'always') return 'run';
  const failed = c.failed + c.upstreamFailed;
  const allDone = c.done === c.total;
  switch (rule) {
    case 'all_success':
      if (failed > 0) return 'upstream_failed';
      if (c.skipped > 0) return 'skip';
      return c.success === c.total ? 'run' : 'wait';
    case 'all_failed':
      if (c.success > 0 || c.skipped > 0) return 'skip';
      return failed === c.total ? 'run' : 'wait';
    case 'all_done':
      return allDone ? 'run' : 'wait';
    case 'all_done_min_one_success':
      if (!allDone) return 'wait';
      return c.success > 0 ? 'run' : 'skip';
    case 'all_skipped':
      if (c.success > 0 || failed > 0) return 'skip';
      return c.skipped === c.total ? 'run' : 'wait';
    case 'one_success':
      if (c.success > 0) return 'run';
      if (!allDone) return 'wait';
      return failed > 0 ? 'upstream_failed' : 'skip';
    case 'one_failed':
      if (failed > 0) return 'run';
      return allDone ? 'skip' : 'wait';
    case 'one_done':
      if (c.success > 0 || failed > 0) return 'run';
      return allDone ? 'skip' : 'wait';
    case 'none_failed':
      if (failed > 0) return 'upstream_failed';
      return allDone ? 'run' : 'wait';
    case 'none_failed_min_one_success':
      if (failed > 0) return 'upstream_failed';
      if (!allDone) return 'wait';
      return c.success > 0 ? 'run' : 'skip';
    case 'none_skipped':
      if (c.skipped > 0) return 'skip';
      return allDone ? 'run' : 'wait';
  }
}
