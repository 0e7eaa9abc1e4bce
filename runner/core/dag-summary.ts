/**
 * A DAG as plain JSON: what an isolated import sends back to the validator, and what checks and
 * policy read. Functions (task bodies, templated options, the params schema) do not cross.
 */
import type { Dag } from './dag.ts';
import type { Notification, TaskArgs } from './dag-options.ts';
import type { TriggerRule } from './trigger-rule.ts';
import { DEFAULT_MAX_MAP_LENGTH } from './task-mapping.ts';

export interface TaskSummary {
  id: string;
  upstream: string[];
  triggerRule: TriggerRule;
  operator: string;
  sensor: boolean;
  args: TaskArgs;
  notifications: Notification[];
  doc?: string;
  /** A mapped task's longest list (its `maxMapLength`, or the default). */
  maxMapLength?: number;
}

export interface DagSummary {
  dagId: string;
  description: string;
  owner: string;
  tags: string[];
  schedule: string | null;
  timezone: string;
  startDate: string;
  endDate?: string;
  catchup: boolean;
  maxActiveRuns: number;
  maxActiveTasks: number;
  defaultArgs: TaskArgs;
  notifications: Notification[];
  hasParams: boolean;
  pausedOnCreation: boolean;
  tasks: TaskSummary[];
}

export const DEFAULT_MAX_ACTIVE_RUNS = 16;
export const DEFAULT_MAX_ACTIVE_TASKS = 16;

export function summarizeDag(definition: Dag<Record<string, unknown>, unknown>): DagSummary {
  const { options } = definition;
  return {
    dagId: options.id,
    description: options.description,
    owner: options.owner,
    tags: [...options.tags],
    schedule: options.schedule,
    timezone: options.timezone,
    startDate: options.startDate,
    ...(options.endDate === undefined ? {} : { endDate: options.endDate }),
    catchup: options.catchup ?? false,
    maxActiveRuns: options.maxActiveRuns ?? DEFAULT_MAX_ACTIVE_RUNS,
    maxActiveTasks: options.maxActiveTasks ?? DEFAULT_MAX_ACTIVE_TASKS,
    defaultArgs: { ...options.defaultArgs },
    notifications: [...(options.notifications ?? [])],
    hasParams: options.params !== undefined,
    pausedOnCreation: options.pausedOnCreation ?? false,
    tasks: definition.tasks.map((task) => {
      const {
        upstream,
        triggerRule,
        notifications,
        doc,
        branch: _b,
        shortCircuit: _s,
        queue: _q,
        onSuccess: _os,
        onFailure: _of,
        onRetry: _or,
        ...args
      } = task.spec;
      return {
        id: task.id,
        upstream: [...(upstream ?? [])],
        triggerRule: triggerRule ?? 'all_success',
        operator: task.operator.kind,
        sensor: 'poke' in task.operator,
        args,
        ...(task.mapping ? { maxMapLength: task.mapping.maxMapLength ?? DEFAULT_MAX_MAP_LENGTH } : {}),
        notifications: [...(notifications ?? [])],
        ...(doc === undefined ? {} : { doc }),
      };
    }),
  };
}
