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
