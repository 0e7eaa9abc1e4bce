import type { DagSummary, TaskSummary } from '../../runner/core/dag-summary.ts';

/** A DAG summary that passes every check and the shipped policy, with `overrides` applied. */
export function summary(overrides: Partial<DagSummary> = {}): DagSummary {
  return {
    dagId: 'data_lake__unit',
    description: 'A DAG summary built for unit tests of checks and policy.',
    owner: 'data-platform',
    tags: ['data-lake'],
    schedule: '@daily',
    timezone: 'UTC',
    startDate: '2026-01-01',
    catchup: false,
    maxActiveRuns: 16,
    maxActiveTasks: 16,
    defaultArgs: {},
    notifications: [],
    hasParams: false,
    pausedOnCreation: false,
    tasks: [task('extract'), task('load', ['extract'])],
    ...overrides,
  };
}

export function task(id: string, upstream: string[] = [], extra: Partial<TaskSummary> = {}): TaskSummary {
  return {
    id,
    upstream,
    triggerRule: 'all_success',
    operator: 'function',
    sensor: false,
    args: {},
    notifications: [],
    ...extra,
  };
}
