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
  /** Airflow 2's earlier name for `none_failed_min_one_success`; kept so DAGs move over unchanged. */
  'none_failed_or_skipped',
  'none_skipped',
  'all_done_setup_success',
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
  /**
   * Upstream setup tasks, and how many of them succeeded or were skipped: what
   * `all_done_setup_success` looks at. Runway has no setup tasks yet, so these are 0 for every DAG
   * today and the rule behaves as `all_done`, exactly as Airflow's does with no setup upstream.
   */
  setup?: number;
  setupSuccess?: number;
  setupSkipped?: number;
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
 * Airflow's trigger rule semantics, as `TriggerRuleDep._evaluate_direct_relatives` decides them
 * with `flag_upstream_failed`: a skip or upstream failure is decided as soon as it is certain, the
 * run waits for what the rule needs. A task with no upstream runs at once.
 */
export function evaluateTriggerRule(rule: TriggerRule, c: UpstreamCounts): TriggerDecision {
  if (c.total === 0 || rule === 'always') return 'run';
  const failed = c.failed + c.upstreamFailed;
  const allDone = c.done >= c.total;
  switch (rule) {
    case 'all_success':
      if (failed > 0) return 'upstream_failed';
      if (c.skipped > 0) return 'skip';
      return c.success >= c.total ? 'run' : 'wait';
    case 'all_failed':
      if (c.success > 0 || c.skipped > 0) return 'skip';
      return failed >= c.total ? 'run' : 'wait';
    case 'all_done':
      return allDone ? 'run' : 'wait';
    case 'all_done_min_one_success':
      // Skipped upstream tasks are not "done" for this rule: one skip skips it.
      if (c.skipped > 0) return 'skip';
      if (!allDone) return 'wait';
      return c.success > 0 ? 'run' : 'upstream_failed';
    case 'all_skipped':
      if (c.success > 0 || failed > 0) return 'skip';
      return c.skipped >= c.total ? 'run' : 'wait';
    case 'one_success':
      if (c.success > 0) return 'run';
      if (!allDone) return 'wait';
      return c.done === c.skipped ? 'skip' : 'upstream_failed';
    case 'one_failed':
      if (failed > 0) return 'run';
      return allDone ? 'skip' : 'wait';
    case 'one_done':
      // upstream_failed is not "done" here: the upstream task never ran.
      if (c.success > 0 || c.failed > 0) return 'run';
      return allDone ? 'skip' : 'wait';
    case 'none_failed':
      if (failed > 0) return 'upstream_failed';
      return allDone ? 'run' : 'wait';
    case 'none_failed_min_one_success':
    case 'none_failed_or_skipped':
      if (failed > 0) return 'upstream_failed';
      if (c.skipped >= c.total) return 'skip';
      return allDone ? 'run' : 'wait';
    case 'none_skipped':
      if (c.skipped > 0) return 'skip';
      return allDone ? 'run' : 'wait';
    case 'all_done_setup_success': {
      if (!allDone) return 'wait';
      const setup = c.setup ?? 0;
      if (setup > 0 && (c.setupSkipped ?? 0) >= setup) return 'skip';
      if (setup > 0 && (c.setupSuccess ?? 0) === 0) return 'upstream_failed';
      return 'run';
    }
  }
}
