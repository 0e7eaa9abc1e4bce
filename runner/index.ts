/** Runway's public API for DAG authors and operator writers. */
export {
  dag,
  isDag,
  Dag,
  DagDefinitionError,
  type DagOutputs,
  type OutputOf,
  type RuleRequiringSuccess,
  type TaskDefinition,
  type UpstreamOutputs,
} from './core/dag.ts';
export type { DagOptions, TaskSpec, TaskArgs, Notification, NotifyEvent } from './core/dag-options.ts';
export type { TaskGroup, GroupOptions, GroupArgs, GroupMarker } from './core/task-group.ts';
export type { TeardownSpec, TaskRole } from './core/setup-teardown.ts';
export type { Duration } from './core/duration.ts';
export { durationMs } from './core/duration.ts';
export type { TriggerRule } from './core/trigger-rule.ts';
export { TRIGGER_RULES } from './core/trigger-rule.ts';
export {
  resolveTemplated,
  isSensor,
  isRenderable,
  type Renderable,
  type AnyOperator,
  type AwsClients,
  type CheckTask,
  type Logger,
  type Operator,
  type PokeResult,
  type RunInfo,
  type Sensor,
  type SensorContext,
  type SensorSettings,
  type TaskContext,
  type TaskIdentity,
  type Templated,
} from './core/operator.ts';
export { TaskError, failNow, skip, isTaskError, type TaskErrorCode } from './core/task-error.ts';
export {
  asset,
  s3PrefixAsset,
  redshiftTableAsset,
  allOf,
  anyOf,
  isAsset,
  AssetUriError,
  type Asset,
  type AssetEvent,
  type AssetCondition,
  type AssetSchedule,
  type TaskAssets,
} from './core/asset.ts';
