/** Runway's public API for DAG authors and operator writers. */
export { dag, isDag, Dag, DagDefinitionError, type DagOutputs, type OutputOf, type TaskDefinition } from './dag.ts';
export type { DagOptions, TaskSpec, TaskArgs, Notification, NotifyEvent } from './dag-options.ts';
export type { Duration } from './duration.ts';
export { durationMs } from './duration.ts';
export type { TriggerRule } from './trigger-rule.ts';
export { TRIGGER_RULES } from './trigger-rule.ts';
export {
  resolveTemplated,
  isSensor,
  isRenderable,
  type Renderable,
  type AnyOperator,
  type AwsClients,
  type Logger,
  type Operator,
  type PokeResult,
  type RunInfo,
  type Sensor,
  type SensorContext,
  type SensorSettings,
  type TaskContext,
  type Templated,
} from './operator.ts';
export { TaskError, failNow, skip, isTaskError, type TaskErrorCode } from './task-error.ts';
