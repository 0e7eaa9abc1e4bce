/**
 * Setup and teardown, transcribed from Airflow's tests. Graphs use Airflow's test notation
 * (`test_tis_considered_for_state`): each line a chain `a >> b >> c`; `s…` is a setup, `t…` a
 * teardown (`t…_` one with `on_failure_fail_dagrun=True`), anything else an ordinary task.
 */
import { AIRFLOW, type ConformanceRow } from './row.ts';

const dagrun = (test: string) => `${AIRFLOW.dagRun}::${test}`;
const mixins = (test: string) => `${AIRFLOW.mixins}::${test}`;

/** The tasks whose states decide a finished run's state (`DagRun._tis_for_dagrun_state`). */
export interface StateTasksRow extends ConformanceRow {
  kind: 'state-tasks';
  graph: string[];
  expected: string[];
}

/** A finished run's state from its task states (`DagRun.update_state`). */
export interface RunStateRow extends ConformanceRow {
  kind: 'run-state';
  graph: string[];
  states: Record<string, 'success' | 'failed'>;
  expected: 'success' | 'failed';
}

/** What clearing a task with its downstream tasks clears (`DAG.partial_subset(include_downstream=True)`). */
export interface ClearRow extends ConformanceRow {
  kind: 'clear';
  graph: string[];
  task: string;
  expected: string[];
}

export type SetupTeardownRow = StateTasksRow | RunStateRow | ClearRow;

const considered = (graph: string[], expected: string[], id: string): StateTasksRow => ({
  kind: 'state-tasks',
  graph,
  expected,
  source: dagrun(`test_tis_considered_for_state[${id}]`),
});

const oneline = ['s1 >> w1 >> t1', 's1 >> t1'];

export const SETUP_TEARDOWN_ROWS: readonly SetupTeardownRow[] = [
  considered(['s1 >> w1 >> t1'], ['w1'], 'input0'),
  considered(['s1 >> w1 >> t1', 's1 >> t1'], ['w1'], 'input1'),
  considered(['s1 >> w1'], ['w1'], 'input2'),
  considered(['s1 >> w1 >> t1_'], ['t1_'], 'input3'),
  considered(['s1 >> w1 >> t1_', 's1 >> t1_'], ['t1_'], 'input4'),
  considered(['s1 >> w1 >> t1_ >> w2', 's1 >> t1_'], ['w2'], 'input5'),
  considered(['t1 >> t2'], ['t2'], 'input6'),
  considered(['w1 >> t1_ >> t2'], ['t1_'], 'input7'),
  {
    kind: 'run-state',
    graph: ['mytask >> teardowntask'],
    states: { mytask: 'success', teardowntask: 'failed' },
    expected: 'success',
    source: dagrun('test_teardown_failure_behaviour_on_dagrun[success-False]'),
  },
  {
    kind: 'run-state',
    graph: ['mytask >> teardowntask_'],
    states: { mytask: 'success', teardowntask_: 'failed' },
    expected: 'failed',
    source: dagrun('test_teardown_failure_behaviour_on_dagrun[failed-True]'),
  },
  {
    kind: 'run-state',
    graph: ['mytask >> teardowntask >> teardowntask2'],
    states: { mytask: 'success', teardowntask: 'failed', teardowntask2: 'failed' },
    expected: 'success',
    source: dagrun('test_teardown_failure_on_non_leaf_behaviour_on_dagrun[success-False]'),
  },
  {
    kind: 'run-state',
    graph: ['mytask >> teardowntask_ >> teardowntask2'],
    states: { mytask: 'success', teardowntask_: 'failed', teardowntask2: 'failed' },
    expected: 'failed',
    source: dagrun('test_teardown_failure_on_non_leaf_behaviour_on_dagrun[failed-True]'),
  },
  {
    kind: 'run-state',
    graph: ['setuptask >> mytask >> teardown_task', 'setuptask >> teardown_task'],
    states: { setuptask: 'success', mytask: 'failed', teardown_task: 'success' },
    expected: 'failed',
    source: dagrun('test_work_task_failure_when_setup_teardown_are_successful'),
  },
  {
    kind: 'run-state',
    graph: ['setuptask', 'teardown_task', 'mytask'],
    states: { setuptask: 'success', mytask: 'failed', teardown_task: 'success' },
    expected: 'failed',
    source: dagrun('test_failure_of_leaf_task_not_connected_to_teardown_task'),
  },
  { kind: 'clear', graph: ['w0 >> w1'], task: 'w1', expected: ['w1'], source: mixins('test_as_teardown (before)') },
  {
    kind: 'clear',
    graph: ['w0 >> w1 >> w2'],
    task: 'w1',
    expected: ['w1', 'w2'],
    source: mixins('test_as_teardown (plain)'),
  },
  { kind: 'clear', graph: oneline, task: 'w1', expected: ['s1', 'w1', 't1'], source: mixins('test_as_teardown') },
  {
    kind: 'clear',
    graph: oneline,
    task: 's1',
    expected: ['s1', 'w1', 't1'],
    source: mixins('test_as_teardown_oneline'),
  },
  {
    kind: 'clear',
    graph: oneline,
    task: 'w1',
    expected: ['s1', 'w1', 't1'],
    source: mixins('test_as_teardown_oneline'),
  },
  { kind: 'clear', graph: oneline, task: 't1', expected: ['t1'], source: mixins('test_as_teardown_oneline') },
];
