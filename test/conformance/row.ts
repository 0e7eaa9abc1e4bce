/**
 * One row of a conformance table: a case transcribed from Apache Airflow's own test suite. `source`
 * names the Airflow test (file and test id) it comes from. A row where Runway deliberately behaves
 * otherwise stays in its table with `difference` saying why; the README's "Differences from Airflow"
 * lists the same reasons, and `differences.test.ts` keeps the two in step.
 */
export interface ConformanceRow {
  source: string;
  /** Why Runway deliberately differs here; the row is then checked for the difference, or not run. */
  difference?: string;
}

/** The Airflow test files the tables are transcribed from (apache/airflow, main branch). */
export const AIRFLOW = {
  intervalTimetable: 'airflow-core/tests/unit/timetables/test_interval_timetable.py',
  dag: 'airflow-core/tests/unit/models/test_dag.py',
  dag110: 'tests/models/test_dag.py (Airflow 1.10, DST cases since removed from test_dag.py)',
  triggerRuleDep: 'airflow-core/tests/unit/ti_deps/deps/test_trigger_rule_dep.py',
  taskInstance: 'airflow-core/tests/unit/models/test_taskinstance.py',
  dagRun: 'airflow-core/tests/unit/models/test_dagrun.py',
  mixins: 'task-sdk/tests/task_sdk/definitions/test_mixins.py',
} as const;

/** Counts of rows per outcome, for the closing count of a table. */
export function countRows(rows: readonly ConformanceRow[]): { pass: number; difference: number } {
  const difference = rows.filter((r) => r.difference !== undefined).length;
  return { pass: rows.length - difference, difference };
}

/**
 * Why Runway differs, once per reason: rows point here, and the README's "Differences from
 * Airflow" has one entry per title (checked by `differences.test.ts`).
 */
export const DIFFERENCES = {
  cronOnly: {
    title: 'Schedules are cron expressions',
    reason:
      "A schedule is a cron expression, a preset, `@once` or `null`. Airflow's timedelta and relativedelta schedules (`DeltaDataIntervalTimetable`), `CronTriggerTimetable` and custom timetables have no Runway form, so their cases are kept but not run.",
  },
  noMappedTasks: {
    title: 'Mapped tasks: `build` instead of `partial`/`expand` keyword arguments',
    // The mapped-task cases Airflow's suite has turn on its `removed` state and mapped task groups.
    reason:
      "The element reaches an index through a typed closure, not a keyword argument; one list per task (no `expand` over several lists as a cross product, no `expand_kwargs`, no `map()`/`zip()` on outputs, no mapped task groups). A task whose list shrinks after a clear loses its extra indexes (with their logs) instead of keeping them in a `removed` state. A downstream task under a rule other than `all_success` gets the outputs of the indexes that left one, in index order, as Airflow's lazy sequence does. An output that is not a list fails the mapped task, where Airflow fails the upstream task that pushed it. `branch` and `shortCircuit` have no effect on a mapped task's indexes. `maxMapLength` is set per task (Airflow's is one setting for the installation).",
  },
  noSetupTeardown: {
    title: 'No setup constraint on ordinary tasks',
    reason:
      "A teardown's `all_done_setup_success` counts its setups as Airflow's does. The extra constraint Airflow puts on an ordinary task below a setup (it fails or skips with the setup, whatever its own trigger rule) is not applied: a task right after a setup must use `all_success`, so a failed setup reaches the tasks below through the usual upstream_failed cascade, but a task further down with a rule like `all_done` still runs.",
  },
  noDependsOnPast: {
    title: 'No depends_on_past',
    reason: 'So the `wait_for_past_depends_before_skipping` cases do not arise.',
  },
  fakedCounts: {
    title: 'Trigger rules read real states',
    reason:
      'One Airflow case (`test_one_success_tr_success`) fakes counts no run can have: 8 finished upstream states among 2 done tasks, where Airflow skips because done equals skipped. Runway counts the states it reads; the row is kept, not run.',
  },
  backoffDoubles: {
    title: 'Exponential backoff doubles',
    reason:
      "`retryBackoff: 'exponential'` doubles the delay, as Airflow's `retry_exponential_backoff=True` (or `2.0`); Airflow 3's other multipliers (`5.0`) are not offered.",
  },
  retryOverrideOnError: {
    title: 'A retry delay override comes from the error',
    reason:
      "Airflow 3's `retry_delay_override` (set by a `RetryPolicy`) is `TaskError`'s `retryAfterMs` in Runway: the task's error, not a policy object, says how long to wait.",
  },
} as const;
