/**
 * A DAG as plain JSON: what an isolated import sends back to the validator, and what checks and
 * policy read. Functions (task bodies, templated options, the params schema) do not cross.
 */
import type { Dag } from './dag.ts';
import type { Notification, TaskArgs } from './dag-options.ts';
import type { TaskRole } from './setup-teardown.ts';
import type { TriggerRule } from './trigger-rule.ts';
import { conditionJson, isAssetSchedule, type AssetConditionJson } from './asset.ts';
import { DEFAULT_MAX_MAP_LENGTH } from './task-mapping.ts';
import type { DeadlineOptions } from './deadline.ts';
import type { Duration } from './duration.ts';

export interface TaskSummary {
  id: string;
  upstream: string[];
  triggerRule: TriggerRule;
  operator: string;
  sensor: boolean;
  args: TaskArgs;
  notifications: Notification[];
  doc?: string;
  /** The innermost task group it belongs to. */
  group?: string;
  role?: TaskRole;
  /** A teardown's setups. */
  setups?: string[];
  onFailureFailRun?: boolean;
  /** URIs of the assets the task updates; absent when none. */
  outlets?: string[];
  /** A mapped task's longest list (its `maxMapLength`, or the default). */
  maxMapLength?: number;
  /** The queue its jobs go to, when not `default`. */
  queue?: string;
}

export interface GroupSummary {
  id: string;
  doc?: string;
}

export interface DagSummary {
  dagId: string;
  description: string;
  owner: string;
  tags: string[];
  /** The cron schedule; null for manual and asset-scheduled DAGs. */
  schedule: string | null;
  /** The asset condition the DAG runs on, when it is scheduled on assets. */
  assetSchedule?: AssetConditionJson;
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
  /** Task groups, outer ones first. */
  groups?: GroupSummary[];
  dagRunTimeout?: Duration;
  keepRuns?: number;
  /** The deadline's timing; its notifiers (functions among them) stay with the DAG. */
  deadline?: Pick<DeadlineOptions, 'after' | 'from'>;
  /** The DAG has an `onSuccess` or `onFailure` callback: ending a run needs the DAG itself. */
  runCallbacks?: true;
}

export const DEFAULT_MAX_ACTIVE_RUNS = 16;
export const DEFAULT_MAX_ACTIVE_TASKS = 16;

// A DAG's summary reads no output types: any DAG, whatever its outputs and groups, is summarised.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function summarizeDag(definition: Dag<any, any>): DagSummary {
  const { options } = definition;
  return {
    dagId: options.id,
    description: options.description,
    owner: options.owner,
    tags: [...options.tags],
    schedule: isAssetSchedule(options.schedule) ? null : options.schedule,
    ...(isAssetSchedule(options.schedule) ? { assetSchedule: conditionJson(options.schedule) } : {}),
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
        queue,
        onSuccess: _os,
        onFailure: _of,
        onRetry: _or,
        outlets,
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
        ...(task.group === undefined ? {} : { group: task.group }),
        ...(task.role === undefined ? {} : { role: task.role }),
        ...(task.setups === undefined ? {} : { setups: [...task.setups] }),
        ...(task.onFailureFailRun ? { onFailureFailRun: true } : {}),
        ...(outlets && outlets.length > 0 ? { outlets: outlets.map((o) => o.uri) } : {}),
        ...(queue === undefined ? {} : { queue }),
      };
    }),
    ...(options.dagRunTimeout === undefined ? {} : { dagRunTimeout: options.dagRunTimeout }),
    ...(options.keepRuns === undefined ? {} : { keepRuns: options.keepRuns }),
    ...(options.deadline === undefined
      ? {}
      : { deadline: { after: options.deadline.after, from: options.deadline.from } }),
    ...(options.onSuccess || options.onFailure ? { runCallbacks: true as const } : {}),
    // A DAG built by another copy of Runway (a bundle made before groups) has no `groups`.
    ...((definition.groups ?? []).length === 0
      ? {}
      : {
          groups: [...definition.groups]
            .sort((a, b) => a.id.split('.').length - b.id.split('.').length)
            .map((g) => ({ id: g.id, ...(g.doc === undefined ? {} : { doc: g.doc }) })),
        }),
  };
}
