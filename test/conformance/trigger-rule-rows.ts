/**
 * Trigger rules, transcribed from Airflow's tests of TriggerRuleDep. Airflow's tests fake the
 * upstream counts (`_UpstreamTIStates`): success, skipped, failed, upstream_failed, removed, done,
 * success_setup, skipped_setup, with `upstream` tasks in all. The expected outcome is the one with
 * `flag_upstream_failed=True` (what the scheduler does): the state Airflow sets (skipped,
 * upstream_failed), else whether the dependency passed (run) or not (wait).
 */
import { AIRFLOW, DIFFERENCES, type ConformanceRow } from './row.ts';
import type { TriggerDecision } from '../../runner/core/trigger-rule.ts';

/** success, skipped, failed, upstream_failed, removed, done, success_setup, skipped_setup */
export type AirflowCounts = [number, number, number, number, number, number, number?, number?];

export interface TriggerRuleRow extends ConformanceRow {
  kind: 'rule';
  rule: string;
  /** Direct upstream tasks in all (work and setup). */
  upstream: number;
  /** Of which setup tasks. */
  setups?: number;
  counts: AirflowCounts;
  expected: TriggerDecision;
}

/** `_UpstreamTIStates.calculate` over real upstream states. */
export interface CountRow extends ConformanceRow {
  kind: 'count';
  states: string[];
  counts: AirflowCounts;
}

/** A rule Airflow does not know: its dependency never passes; Runway refuses the DAG when it loads. */
export interface UnknownRuleRow extends ConformanceRow {
  kind: 'unknown';
  rule: string;
}

/** A case that cannot be written for Runway (a difference), kept for the count and the reason. */
export interface UnwritableRuleRow extends ConformanceRow {
  kind: 'unwritable';
}

export type RuleRow = TriggerRuleRow | CountRow | UnknownRuleRow | UnwritableRuleRow;

const dep = (test: string) => `${AIRFLOW.triggerRuleDep}::${test}`;
const ti = (test: string) => `${AIRFLOW.taskInstance}::${test}`;
const R: TriggerDecision = 'run';
const S: TriggerDecision = 'skip';
const U: TriggerDecision = 'upstream_failed';
const W: TriggerDecision = 'wait';

const rule = (
  source: string,
  name: string,
  upstream: number,
  counts: AirflowCounts,
  expected: TriggerDecision,
  extra: Partial<TriggerRuleRow> = {},
): TriggerRuleRow => ({ kind: 'rule', source, rule: name, upstream, counts, expected, ...extra });
const unwritable = (source: string, difference: string): UnwritableRuleRow => ({
  kind: 'unwritable',
  source,
  difference,
});

/** test_taskinstance.py::test_check_task_dependencies: five work tasks upstream, plus setups. */
const checkTaskDependencies: [string, number, AirflowCounts, TriggerDecision, string?, string?][] = [
  ['all_success', 0, [5, 0, 0, 0, 0, 5, 0, 0], R],
  ['all_success', 0, [2, 0, 0, 0, 0, 2, 0, 0], W],
  ['all_success', 0, [2, 0, 1, 0, 0, 3, 0, 0], U],
  ['all_success', 0, [2, 1, 0, 0, 0, 3, 0, 0], S],
  ['one_success', 0, [5, 0, 0, 0, 0, 5, 0, 0], R],
  ['one_success', 0, [2, 0, 0, 0, 0, 2, 0, 0], R],
  ['one_success', 0, [2, 0, 1, 0, 0, 3, 0, 0], R],
  ['one_success', 0, [2, 1, 0, 0, 0, 3, 0, 0], R],
  ['one_success', 0, [0, 5, 0, 0, 0, 5, 0, 0], S],
  ['one_success', 0, [0, 4, 1, 0, 0, 5, 0, 0], U],
  ['one_success', 0, [0, 3, 1, 1, 0, 5, 0, 0], U],
  ['one_success', 0, [0, 4, 0, 1, 0, 5, 0, 0], U],
  ['one_success', 0, [0, 0, 5, 0, 0, 5, 0, 0], U],
  ['one_success', 0, [0, 0, 4, 1, 0, 5, 0, 0], U],
  ['one_success', 0, [0, 0, 0, 5, 0, 5, 0, 0], U],
  ['all_failed', 0, [5, 0, 0, 0, 0, 5, 0, 0], S],
  ['all_failed', 0, [0, 0, 5, 0, 0, 5, 0, 0], R],
  ['all_failed', 0, [2, 0, 0, 0, 0, 2, 0, 0], S],
  ['all_failed', 0, [2, 0, 1, 0, 0, 3, 0, 0], S],
  ['all_failed', 0, [2, 1, 0, 0, 0, 3, 0, 0], S],
  ['one_failed', 0, [5, 0, 0, 0, 0, 5, 0, 0], S],
  ['one_failed', 0, [2, 0, 0, 0, 0, 2, 0, 0], W],
  ['one_failed', 0, [2, 0, 1, 0, 0, 3, 0, 0], R],
  ['one_failed', 0, [2, 1, 0, 0, 0, 3, 0, 0], W],
  ['one_failed', 0, [2, 3, 0, 0, 0, 5, 0, 0], S],
  ['all_done', 0, [5, 0, 0, 0, 0, 5, 0, 0], R],
  ['all_done', 0, [2, 0, 0, 0, 0, 2, 0, 0], W],
  ['all_done', 0, [2, 0, 1, 0, 0, 3, 0, 0], W],
  ['all_done', 0, [2, 1, 0, 0, 0, 3, 0, 0], W],
  ['all_done_setup_success', 0, [5, 0, 0, 0, 0, 5, 0, 0], R],
  ['all_done_setup_success', 0, [2, 0, 0, 0, 0, 2, 0, 0], W],
  ['all_done_setup_success', 0, [2, 0, 1, 0, 0, 3, 0, 0], W],
  ['all_done_setup_success', 0, [2, 1, 0, 0, 0, 3, 0, 0], W],
  ['all_done_setup_success', 1, [6, 0, 0, 0, 0, 6, 1, 0], R, 'all setups succeeded - one'],
  ['all_done_setup_success', 2, [7, 0, 0, 0, 0, 7, 2, 0], R, 'all setups succeeded - two'],
  ['all_done_setup_success', 1, [5, 0, 1, 0, 0, 6, 0, 0], U, 'setups failed - one'],
  ['all_done_setup_success', 2, [5, 0, 2, 0, 0, 7, 0, 0], U, 'setups failed - two'],
  ['all_done_setup_success', 1, [5, 1, 0, 0, 0, 6, 0, 1], S, 'setups skipped - one'],
  ['all_done_setup_success', 2, [5, 2, 0, 0, 0, 7, 0, 2], S, 'setups skipped - two'],
  ['all_done_setup_success', 2, [5, 1, 1, 0, 0, 7, 0, 1], U, 'one setup failed one setup skipped'],
  ['all_done_setup_success', 2, [6, 0, 1, 0, 0, 7, 1, 0], R, 'is teardown one setup failed one setup success'],
  [
    'all_done_setup_success',
    2,
    [6, 0, 1, 0, 0, 7, 1, 0],
    U,
    'not teardown one setup failed one setup success',
    DIFFERENCES.noSetupTeardown.reason,
  ],
  ['all_done_setup_success', 2, [6, 1, 0, 0, 0, 7, 1, 1], R, 'is teardown one setup success one setup skipped'],
  [
    'all_done_setup_success',
    2,
    [6, 1, 0, 0, 0, 7, 1, 1],
    S,
    'not teardown one setup success one setup skipped',
    DIFFERENCES.noSetupTeardown.reason,
  ],
  ['all_done_setup_success', 1, [3, 0, 0, 0, 0, 3, 1, 0], W, 'not all done'],
  ['all_done_setup_success', 1, [3, 0, 1, 0, 0, 4, 1, 0], W, 'is teardown not all done one failed'],
  [
    'all_done_setup_success',
    1,
    [3, 0, 1, 0, 0, 4, 1, 0],
    U,
    'not teardown not all done one failed',
    DIFFERENCES.noSetupTeardown.reason,
  ],
  ['all_done_setup_success', 1, [3, 1, 0, 0, 0, 4, 1, 0], W, 'is teardown not all done one skipped'],
  [
    'all_done_setup_success',
    1,
    [3, 1, 0, 0, 0, 4, 1, 0],
    S,
    'not teardown not all done one skipped',
    DIFFERENCES.noSetupTeardown.reason,
  ],
];

/** test_trigger_rule_dep.py::test_teardown_tr_not_all_done: work and setup tasks upstream. */
const teardownNotAllDone: [string, number, number, AirflowCounts, TriggerDecision][] = [
  ['no setups', 2, 0, [2, 0, 0, 0, 0, 2], R],
  ['setup not done', 2, 1, [2, 0, 0, 0, 0, 2], W],
  ['setup failed', 2, 1, [2, 0, 0, 0, 0, 3], U],
  ['one setup failed one success', 2, 2, [2, 0, 0, 0, 0, 4, 1, 0], R],
  ['one setup success one running', 2, 2, [2, 0, 0, 0, 0, 3, 1, 0], W],
  ['setup failed (failed=1)', 2, 1, [2, 0, 1, 0, 0, 3], U],
  ['one setup failed one skipped', 2, 2, [2, 0, 1, 0, 0, 4, 0, 1], U],
  ['two setups both skipped', 2, 2, [2, 0, 0, 0, 0, 4, 0, 2], S],
  ['all success', 2, 1, [3, 0, 0, 0, 0, 3, 1, 0], R],
  ['work failed', 2, 1, [1, 0, 0, 0, 0, 3, 1, 0], R],
  ['one setup; skipped', 2, 1, [2, 0, 0, 0, 0, 3, 0, 1], S],
];

export const TRIGGER_RULE_ROWS: RuleRow[] = [
  // --- test_trigger_rule_dep.py::TestTriggerRuleDep ---
  rule(dep('test_no_upstream_tasks'), 'all_done', 0, [0, 0, 0, 0, 0, 0], R),
  rule(dep('test_always_tr'), 'always', 1, [0, 0, 0, 0, 0, 0], R),
  // The fixture declares no upstream task for the one_* cases; its counts stand for `done` tasks.
  rule(dep('test_one_success_tr_success'), 'one_success', 2, [1, 2, 3, 2, 0, 2], S, {
    difference: DIFFERENCES.fakedCounts.reason,
  }),
  rule(dep('test_one_success_tr_failure'), 'one_success', 4, [0, 1, 1, 1, 1, 4], U),
  rule(dep('test_one_success_tr_failure_all_skipped'), 'one_success', 2, [0, 2, 0, 0, 0, 2], S),
  rule(dep('test_one_failure_tr_failure'), 'one_failed', 2, [2, 0, 0, 0, 0, 2], S),
  rule(dep('test_one_failure_tr_success'), 'one_failed', 2, [0, 2, 2, 0, 0, 2], R),
  rule(dep('test_one_failure_tr_success_no_failed'), 'one_failed', 2, [0, 2, 0, 2, 0, 2], R),
  rule(dep('test_one_done_tr_success'), 'one_done', 2, [2, 0, 0, 0, 0, 2], R),
  rule(dep('test_one_done_tr_success_with_failed'), 'one_done', 2, [0, 0, 2, 0, 0, 2], R),
  rule(dep('test_one_done_tr_skip'), 'one_done', 2, [0, 2, 0, 0, 0, 2], S),
  rule(dep('test_one_done_tr_upstream_failed'), 'one_done', 2, [0, 0, 0, 2, 0, 2], S),
  rule(dep('test_all_success_tr_success'), 'all_success', 1, [1, 0, 0, 0, 0, 1], R),
  rule(dep('test_all_success_tr_failure'), 'all_success', 2, [1, 0, 1, 0, 0, 2], U),
  rule(dep('test_all_success_tr_skip'), 'all_success', 2, [1, 1, 0, 0, 0, 2], S),
  unwritable(dep('test_all_success_tr_skip_wait_for_past_depends_before_skipping'), DIFFERENCES.noDependsOnPast.reason),
  unwritable(
    dep('test_all_success_tr_skip_wait_for_past_depends_before_skipping_past_depends_met'),
    DIFFERENCES.noDependsOnPast.reason,
  ),
  rule(dep('test_none_failed_tr_success'), 'none_failed', 2, [1, 1, 0, 0, 0, 2], R),
  rule(dep('test_none_failed_tr_failure'), 'none_failed', 3, [1, 1, 1, 0, 0, 3], U),
  rule(dep('test_none_failed_tr_failure_with_upstream_failure'), 'none_failed', 3, [1, 1, 0, 1, 0, 3], U),
  rule(dep('test_none_failed_min_one_success_tr_success'), 'none_failed_min_one_success', 2, [1, 1, 0, 0, 0, 2], R),
  rule(dep('test_none_failed_min_one_success_tr_skipped'), 'none_failed_min_one_success', 2, [0, 2, 0, 0, 0, 2], S),
  rule(dep('test_none_failed_min_one_success_tr_failure'), 'none_failed_min_one_success', 3, [1, 1, 1, 0, 0, 3], U),
  rule(
    dep('test_none_failed_min_one_success_tr_upstream_failure'),
    'none_failed_min_one_success',
    3,
    [1, 1, 0, 1, 0, 3],
    U,
  ),
  rule(dep('test_all_failed_tr_success'), 'all_failed', 2, [0, 0, 2, 0, 0, 2], R),
  rule(dep('test_all_failed_tr_failure'), 'all_failed', 2, [2, 0, 0, 0, 0, 2], S),
  rule(dep('test_all_done_tr_success'), 'all_done', 2, [2, 0, 0, 0, 0, 2], R),
  ...teardownNotAllDone.map(([id, work, setups, counts, expected]) =>
    rule(dep(`test_teardown_tr_not_all_done[${id}]`), 'all_done_setup_success', work + setups, counts, expected, {
      setups,
    }),
  ),
  rule(dep('test_all_skipped_tr_failure'), 'all_skipped', 1, [1, 0, 0, 0, 0, 1], S),
  rule(dep('test_all_skipped_tr_failure_upstream_failed'), 'all_skipped', 1, [0, 0, 0, 1, 0, 1], S),
  rule(dep('test_all_skipped_tr_success'), 'all_skipped', 3, [0, 3, 0, 0, 0, 3], R),
  // One finished upstream and one that is not.
  rule(dep('test_all_done_tr_failure'), 'all_done', 2, [1, 0, 0, 0, 0, 1], W),
  rule(dep('test_none_skipped_tr_success'), 'none_skipped', 3, [2, 0, 1, 0, 0, 3], R),
  rule(dep('test_none_skipped_tr_failure'), 'none_skipped', 2, [1, 1, 0, 0, 0, 2], S),
  rule(dep('test_none_skipped_tr_failure_empty'), 'none_skipped', 1, [0, 0, 0, 0, 0, 0], W),
  { kind: 'unknown', source: dep('test_unknown_tr'), rule: 'Unknown Trigger Rule' },
  { kind: 'count', source: dep('test_UpstreamTIStates[op2]'), states: ['success'], counts: [1, 0, 0, 0, 0, 1, 0, 0] },
  {
    kind: 'count',
    source: dep('test_UpstreamTIStates[op4]'),
    states: ['failed', 'success'],
    counts: [1, 0, 1, 0, 0, 2, 0, 0],
  },
  {
    kind: 'count',
    source: dep('test_UpstreamTIStates[op5]'),
    states: ['failed', 'success', 'success'],
    counts: [2, 0, 1, 0, 0, 3, 0, 0],
  },
  ...[
    'test_mapped_task_upstream_removed_with_all_success_trigger_rules',
    'test_mapped_task_upstream_removed_with_all_failed_trigger_rules',
    'test_mapped_task_upstream_removed_with_none_failed_trigger_rules[none_failed]',
    'test_mapped_task_upstream_removed_with_none_failed_trigger_rules[none_failed_min_one_success]',
    'test_upstream_in_mapped_group_triggers_only_relevant',
    'test_upstream_in_mapped_group_when_mapped_tasks_list_is_empty',
    'test_mapped_task_check_before_expand',
    'test_mapped_task_group_finished_upstream_before_expand',
    'test_setup_constraint_mapped_task_upstream_removed_and_success',
    'test_setup_mapped_task_group_finished_upstream_before_expand',
  ].map((test) => unwritable(dep(test), DIFFERENCES.noMappedTasks.reason)),
  ...[
    'TestTriggerRuleDepSetupConstraint::test_setup_constraint_blocks_execution',
    'TestTriggerRuleDepSetupConstraint::test_setup_constraint_changes_state_appropriately',
    'TestTriggerRuleDepSetupConstraint::test_setup_constraint_will_fail_or_skip_fast',
  ].map((test) => unwritable(dep(test), DIFFERENCES.noSetupTeardown.reason)),
  unwritable(dep('test_setup_constraint_wait_for_past_depends_before_skipping'), DIFFERENCES.noDependsOnPast.reason),

  // --- test_taskinstance.py::test_check_task_dependencies (five work tasks, plus setups) ---
  ...checkTaskDependencies.map(([name, setups, counts, expected, id, difference], i) =>
    rule(ti(`test_check_task_dependencies[${id ?? `${name}-${i}`}]`), name, 5 + setups, counts, expected, {
      setups,
      ...(difference ? { difference } : {}),
    }),
  ),
  unwritable(ti('test_check_task_dependencies_for_mapped (35 cases)'), DIFFERENCES.noMappedTasks.reason),

  // --- all_done_min_one_success: Airflow's suite has no case for it; these follow its code
  // (trigger_rule_dep.py, _evaluate_direct_relatives), named for the branch they take. ---
  ...(
    [
      ['skipped > 0 -> SKIPPED (success, skipped)', 2, [1, 1, 0, 0, 0, 2], S],
      ['skipped > 0 -> SKIPPED before the others are done', 3, [0, 1, 0, 0, 0, 1], S],
      ['all non-skipped done, success == 0 -> UPSTREAM_FAILED (failed, failed)', 2, [0, 0, 2, 0, 0, 2], U],
      ['all non-skipped done, one success -> passes (success, failed)', 2, [1, 0, 1, 0, 0, 2], R],
      ['not all done -> waits (success, running)', 2, [1, 0, 0, 0, 0, 1], W],
    ] as [string, number, AirflowCounts, TriggerDecision][]
  ).map(([branch, upstream, counts, expected]) =>
    rule(
      `airflow-core/src/airflow/ti_deps/deps/trigger_rule_dep.py::ALL_DONE_MIN_ONE_SUCCESS[${branch}]`,
      'all_done_min_one_success',
      upstream,
      counts,
      expected,
    ),
  ),
  // Airflow 2 named none_failed_min_one_success none_failed_or_skipped (TriggerRule.NONE_FAILED_OR_SKIPPED).
  rule(
    dep('test_none_failed_min_one_success_tr_skipped (as none_failed_or_skipped)'),
    'none_failed_or_skipped',
    2,
    [0, 2, 0, 0, 0, 2],
    S,
  ),
  rule(
    dep('test_none_failed_min_one_success_tr_failure (as none_failed_or_skipped)'),
    'none_failed_or_skipped',
    3,
    [1, 1, 1, 0, 0, 3],
    U,
  ),
];
