/**
 * The typed DAG builder. Each `.task()` returns a new `Dag` whose type records the task's output,
 * so a later task can name only tasks declared before it, and sees, typed in their JSON form, the
 * outputs of exactly the tasks it lists as upstream.
 */
import type { Jsonify } from 'type-fest';
import type { z } from 'zod';
import { describeIssues, dagOptionsSchema, taskSpecSchema, type DagOptions, type TaskSpec } from './dag-options.ts';
import { functionOperator } from './function-operator.ts';
import type { AnyOperator, Operator, Sensor, TaskContext } from './operator.ts';
import type { TriggerRule } from './trigger-rule.ts';
import {
  checkMappedSpec,
  mappedPlaceholder,
  MappedSpecError,
  type ItemOf,
  type MappedTaskSpec,
  type MapSourceOf,
} from './mapped-task.ts';
import type { TaskMapping } from './task-mapping.ts';
import { teardownTask, type TaskRole, type TeardownSpec } from './setup-teardown.ts';
import {
  addGroup,
  expandGroups,
  type GroupDefinition,
  type GroupMarker,
  type GroupOptions,
  type TaskGroup,
} from './task-group.ts';

const DAG_BRAND = Symbol.for('runway.dag');

/** What a task's output looks like downstream: its JSON form, `null` when it returns nothing. */
export type OutputOf<T> = [T] extends [void | undefined] ? null : Jsonify<T>;

export type EmptyOutputs = Record<never, never>;

/**
 * Trigger rules under which a task runs only after every upstream task succeeded, so every upstream
 * output is there. Under any other rule (`all_done`, `one_success`, `none_failed`, …, and any rule
 * added later) an upstream task may have failed, been skipped or not finished, and hands on `null`.
 */
export type RuleRequiringSuccess = 'all_success';

/** What `ctx.upstream` holds under a trigger rule: the declared outputs, each `| null` unless the rule requires success. */
export type UpstreamOutputs<Declared, Rule extends string> = [Rule] extends [RuleRequiringSuccess]
  ? Declared
  : { [K in keyof Declared]: Declared[K] | null };

export interface TaskDefinition {
  readonly id: string;
  readonly spec: TaskSpec;
  readonly operator: AnyOperator;
  /** Set on a mapped task (`.expand()`): what it maps over and how each index's operator is made. */
  readonly mapping?: TaskMapping;
  /** Declared with `.setup()` or `.teardown()`. */
  readonly role?: TaskRole;
  /** A teardown's setups (also among its upstream tasks). */
  readonly setups?: readonly string[];
  /** A teardown whose failure fails the run. */
  readonly onFailureFailRun?: boolean;
  /** The innermost task group the task belongs to (`load`, `load.tables`). */
  readonly group?: string;
}

/** The outputs a task may read of its upstream ids: a task group named upstream hands on none. */
export type TaskOutputs<Outputs, Upstream extends keyof Outputs> = {
  [K in Upstream as Outputs[K] extends GroupMarker ? never : K]: Outputs[K];
};

/** A DAG definition or a task could not be built; the message names the DAG, task and field. */
export class DagDefinitionError extends Error {
  override readonly name = 'DagDefinitionError';
  constructor(
    message: string,
    readonly dagId: string | undefined,
    readonly taskId?: string,
    /** The option at fault (`owner`, `retries`), so that validation can point at its line. */
    readonly field?: string,
  ) {
    super(message);
  }
}

export type TaskOperator<Upstream, Output, Params> =
  | Operator<Output, Upstream>
  | Sensor<Output, unknown>
  | ((ctx: TaskContext<Upstream, Params>) => Output | Promise<Output>);

/**
 * Tasks one DAG may have. Past this a DAG is a generated graph nobody can read in the UI or the
 * logs, and every run writes a task instance per task: split it.
 */
export const MAX_TASKS = 2_000;

export class Dag<Outputs extends Record<string, unknown> = EmptyOutputs, Params = Record<string, never>> {
  readonly [DAG_BRAND] = true;

  /** @internal use `dag()` */
  constructor(
    readonly options: DagOptions<Params>,
    readonly tasks: readonly TaskDefinition[],
    readonly groups: readonly GroupDefinition[] = [],
  ) {}

  get id(): string {
    return this.options.id;
  }

  /**
   * Adds a task. `operator` is an operator (`s3Sync({...})`), a sensor, or an async function of
   * the task context, which becomes the built-in function operator.
   *
   * @example
   * dag({...})
   *   .task('extract', {}, async () => ({ rows: 120 }))
   *   .task('report', { upstream: ['extract'] }, async (ctx) => `${ctx.upstream.extract.rows} rows`)
   */
  task<
    Id extends string,
    Output,
    Upstream extends keyof Outputs & string = never,
    Rule extends TriggerRule = 'all_success',
  >(
    id: Id,
    spec: TaskSpec<Upstream, Rule>,
    operator: TaskOperator<UpstreamOutputs<TaskOutputs<Outputs, Upstream>, Rule>, Output, Params>,
  ): Dag<Outputs & { [K in Id]: OutputOf<Output> }, Params> {
    const where = `DAG "${this.options.id}", task "${String(id)}"`;
    if (this.tasks.length >= MAX_TASKS) {
      throw new DagDefinitionError(
        `DAG "${this.options.id}" has more than ${MAX_TASKS} tasks: split it into several DAGs`,
        this.options.id,
      );
    }
    if (typeof id !== 'string' || id.length === 0) {
      throw new DagDefinitionError(`DAG "${this.options.id}": a task id must be a non-empty string`, this.options.id);
    }
    if (this.groups.some((g) => g.id === id)) {
      throw new DagDefinitionError(`${where}: a task group has this id; rename one of them`, this.options.id, id);
    }
    const parsed = taskSpecSchema.safeParse(expandGroups(spec, this.groups));
    if (!parsed.success) {
      throw new DagDefinitionError(
        `${where}: ${describeIssues(parsed.error)}`,
        this.options.id,
        id,
        fieldOf(parsed.error),
      );
    }
    const resolved = toOperator(operator);
    if (!resolved) {
      throw new DagDefinitionError(
        `${where}: field "operator" must be an operator (an object with run or poke) or a function`,
        this.options.id,
        id,
      );
    }
    try {
      resolved.checkTask?.({ dagId: this.options.id, taskId: id });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new DagDefinitionError(`${where}: ${message}`, this.options.id, id);
    }
    const definition: TaskDefinition = { id, spec: parsed.data as TaskSpec, operator: resolved };
    return new Dag(this.options, [...this.tasks, definition], this.groups);
  }

  /**
   * Adds a setup task: it makes what the tasks after it use (a scratch schema, a cluster). Pair it
   * with a `.teardown()` that names it in `setups`; clearing a task between them clears both.
   */
  setup<
    Id extends string,
    Output,
    Upstream extends keyof Outputs & string = never,
    Rule extends TriggerRule = 'all_success',
  >(
    id: Id,
    spec: TaskSpec<Upstream, Rule>,
    operator: TaskOperator<UpstreamOutputs<TaskOutputs<Outputs, Upstream>, Rule>, Output, Params>,
  ): Dag<Outputs & { [K in Id]: OutputOf<Output> }, Params> {
    return this.task(id, spec, operator).marked({ role: 'setup' });
  }

  /**
   * Adds a teardown task: it runs once its upstream tasks are done, whatever their states, if one
   * of its `setups` succeeded (trigger rule `all_done_setup_success`); its failure does not fail
   * the run unless `onFailureFailRun` is set.
   *
   * @example
   * dag({...})
   *   .setup('create_schema', {}, async () => ({ schema: 'scratch_1' }))
   *   .task('load', { upstream: ['create_schema'] }, async (ctx) => ctx.upstream.create_schema.schema)
   *   .teardown('drop_schema', { setups: ['create_schema'], upstream: ['load'] }, async () => {})
   */
  teardown<
    Id extends string,
    Output,
    Upstream extends keyof Outputs & string = never,
    Setup extends keyof Outputs & string = never,
  >(
    id: Id,
    spec: TeardownSpec<Upstream, Setup>,
    operator: TaskOperator<
      UpstreamOutputs<TaskOutputs<Outputs, Upstream | Setup>, 'all_done_setup_success'>,
      Output,
      Params
    >,
  ): Dag<Outputs & { [K in Id]: OutputOf<Output> }, Params> {
    const { spec: taskSpec, mark } = teardownTask(this, String(id), spec);
    return this.task(id, taskSpec as never, operator as never).marked(mark) as never;
  }

  /**
   * Adds a task group: its tasks get ids `<group>.<id>` and start from the group's `defaultArgs`;
   * the group's `upstream` tasks become upstream of its roots, and a later task naming the group
   * as upstream waits for its leaves (teardowns aside, as in Airflow). Inside, name upstream tasks
   * by their full ids.
   *
   * @example
   * dag({...})
   *   .task('extract', {}, async () => 3)
   *   .group('load', { upstream: ['extract'], defaultArgs: { retries: 2 } }, (g) =>
   *     g.task('stage', {}, async () => 'ok').task('merge', { upstream: ['load.stage'] }, async () => 1),
   *   )
   *   .task('report', { upstream: ['load'] }, async () => 'done')
   */
  group<G extends string, Added extends Record<string, unknown>, Upstream extends keyof Outputs & string = never>(
    id: G,
    options: GroupOptions<Upstream>,
    build: (group: TaskGroup<Outputs, Params, G>) => TaskGroup<Added, Params, G>,
  ): Dag<Added & { [K in G]: GroupMarker }, Params> {
    return addGroup(this as never, id, id, options, build as never, {}) as never;
  }

  /** @internal the same DAG with these tasks and groups. */
  rebuilt(tasks: readonly TaskDefinition[], groups: readonly GroupDefinition[]): Dag<Outputs, Params> {
    return new Dag(this.options, tasks, groups);
  }

  /** The same DAG with its last task marked. */
  private marked(extra: Pick<TaskDefinition, 'role' | 'setups' | 'onFailureFailRun'>): Dag<Outputs, Params> {
    const last = this.tasks[this.tasks.length - 1]!;
    return this.rebuilt([...this.tasks.slice(0, -1), { ...last, ...extra }], this.groups);
  }

  /**
   * Adds a mapped task (Airflow's `expand`): one task instance per element of `over`, the output of
   * an upstream task that is a list, or a literal list. `build` gets each element (typed) and its
   * map index and returns that instance's operator, sensor or task function; the fixed options
   * live in its closure (Airflow's `partial`). Downstream tasks get the outputs as a list, in index
   * order. An empty list skips the task; a list longer than `maxMapLength` fails it.
   *
   * @example
   * dag({...})
   *   .task('list_prefixes', {}, async () => ['day=01/', 'day=02/'])
   *   .expand('copy', { over: 'list_prefixes' }, (prefix) => async () => ({ prefix, rows: 10 }))
   *   .task('report', { upstream: ['copy'] }, async (ctx) => ctx.upstream.copy.length)
   */
  expand<
    Id extends string,
    Over extends MapSourceOf<Outputs>,
    Output,
    Upstream extends keyof Outputs & string = never,
    Rule extends TriggerRule = 'all_success',
  >(
    id: Id,
    spec: MappedTaskSpec<Over, Upstream, Rule>,
    build: (
      item: ItemOf<Outputs, Over>,
      mapIndex: number,
    ) => TaskOperator<UpstreamOutputs<TaskOutputs<Outputs, Upstream>, Rule>, Output, Params>,
  ): Dag<Outputs & { [K in Id]: OutputOf<Output>[] }, Params> {
    const { over, maxMapLength, ...rest } = spec;
    let mapping: TaskMapping;
    try {
      mapping = checkMappedSpec({ over, maxMapLength, build }, (item, mapIndex) => {
        const operator = toOperator((build as TaskMapping['build'])(item, mapIndex));
        if (!operator) throw new Error('build must return an operator (an object with run or poke) or a function');
        operator.checkTask?.({ dagId: this.options.id, taskId: id });
      });
    } catch (error) {
      const field = error instanceof MappedSpecError ? error.field : undefined;
      const message = error instanceof Error ? error.message : String(error);
      throw new DagDefinitionError(
        `DAG "${this.options.id}", task "${String(id)}": ${message}`,
        this.options.id,
        id,
        field,
      );
    }
    const listInUpstream = typeof over === 'string' && (rest.upstream as readonly string[] | undefined)?.includes(over);
    const upstream = typeof over === 'string' && !listInUpstream ? [...(rest.upstream ?? []), over] : rest.upstream;
    if (listInUpstream) mapping = { ...mapping, listInUpstream };
    const added = this.task(
      id,
      { ...rest, ...(upstream ? { upstream } : {}) } as TaskSpec<Upstream, Rule>,
      mappedPlaceholder(mapping) as never,
    );
    const last = added.tasks[added.tasks.length - 1]!;
    return new Dag(this.options, [...this.tasks, { ...last, mapping }], this.groups) as never;
  }
}

/** An operator, a sensor, or a task function made into the function operator; undefined for anything else. */
export function toOperator(value: unknown): AnyOperator | undefined {
  if (typeof value === 'function') return functionOperator(value as never) as AnyOperator;
  if (typeof value !== 'object' || value === null) return undefined;
  const candidate = value as Partial<Record<'kind' | 'run' | 'poke', unknown>>;
  if (typeof candidate.kind !== 'string') return undefined;
  if (typeof candidate.run === 'function' || typeof candidate.poke === 'function') return value as AnyOperator;
  return undefined;
}

/**
 * Starts a DAG. Importing a DAG file must do nothing else: no network, credentials or environment
 * variables; read those inside tasks.
 *
 * @example
 * export default dag({
 *   id: 'data_lake__events_nightly', description: '…', owner: 'data-platform', tags: ['data-lake'],
 *   schedule: '0 2 * * *', timezone: 'Europe/Paris', startDate: '2026-01-01',
 * }).task('extract', {}, async (ctx) => ({ day: ctx.ds }));
 */
export function dag<Params = Record<string, never>>(
  options: DagOptions<Params> & { params?: z.ZodType<Params> },
): Dag<EmptyOutputs, Params> {
  const parsed = dagOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const id = typeof options?.id === 'string' ? options.id : undefined;
    throw new DagDefinitionError(
      `DAG "${id ?? '(no id)'}": ${describeIssues(parsed.error)}`,
      id,
      undefined,
      fieldOf(parsed.error),
    );
  }
  return new Dag<EmptyOutputs, Params>(parsed.data as DagOptions<Params>, []);
}

/** The option the first issue is about: its innermost key, or the first unknown key. */
export function fieldOf(error: z.ZodError): string | undefined {
  const issue = error.issues[0];
  if (issue?.code === 'unrecognized_keys') return issue.keys[0];
  const key = issue?.path.findLast((part) => typeof part === 'string');
  return typeof key === 'string' ? key : undefined;
}

/** True for a `Dag`, also across copies of this module (bundles, a second install). */
export function isDag(value: unknown): value is Dag<Record<string, unknown>, unknown> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[DAG_BRAND] === true;
}

/** The outputs a DAG's tasks hand downstream, by task id. */
export type DagOutputs<D> = D extends Dag<infer Outputs, unknown> ? Outputs : never;
