/**
 * Task groups, as Airflow's `TaskGroup`: a name for a set of tasks, whose ids become
 * `<group>.<id>`, which start from the group's default arguments, and which other tasks can depend
 * on (or be depended on by) as a whole. A group is only a way to declare: at run time its tasks are
 * ordinary tasks, with the edges the group stood for.
 */
import { z } from 'zod';
import { describeIssues, taskArgsShape, taskSpecSchema, type TaskArgs, type TaskSpec } from './dag-options.ts';
import {
  DagDefinitionError,
  fieldOf,
  type Dag,
  type OutputOf,
  type TaskDefinition,
  type TaskOperator,
  type TaskOutputs,
  type UpstreamOutputs,
} from './dag.ts';
import type { TeardownSpec } from './setup-teardown.ts';
import type { TriggerRule } from './trigger-rule.ts';

declare const GROUP: unique symbol;

/** A task group in a DAG's outputs type: a name to depend on, with no output of its own. */
export interface GroupMarker {
  readonly [GROUP]: true;
}

/** What a group's tasks start from; a task's own options win, and the DAG's `defaultArgs` fill the rest. */
export interface GroupArgs extends TaskArgs {
  /** Queue (worker group) the group's tasks run on. */
  queue?: string;
}

export interface GroupOptions<UpstreamId extends string = string> {
  /** Tasks (or groups) the group's roots wait for. @defaultValue [] */
  upstream?: readonly UpstreamId[];
  /** Task arguments every task of the group starts from (retries, pool, executionTimeout, …). */
  defaultArgs?: GroupArgs;
  /** One line shown in `runway dags show`. */
  doc?: string;
}

export interface GroupDefinition {
  /** Full id: `load`, or `load.tables` for a group inside `load`. */
  readonly id: string;
  /** Tasks with no upstream task inside the group: what the group's own upstream tasks lead to. */
  readonly roots: readonly string[];
  /** What a task that names the group as upstream waits for: its last tasks, teardowns aside. */
  readonly leaves: readonly string[];
  readonly doc?: string;
}

/** A group's own id: no ".", which separates it from its tasks' ids. */
const LOCAL_ID = /^[A-Za-z0-9_-]{1,100}$/;

const groupOptionsSchema = z.strictObject({
  upstream: z.array(z.string()).optional(),
  defaultArgs: z.strictObject({ ...taskArgsShape, queue: taskSpecSchema.shape.queue }).optional(),
  doc: z.string().optional(),
});

/** The builder a group's function receives: like a DAG's, with ids relative to the group. */
export class TaskGroup<Outputs extends Record<string, unknown>, Params, Prefix extends string> {
  /** @internal made by `.group()` */
  constructor(
    /** The DAG so far, group tasks included; the group's type parameters carry its typing. */
    readonly dag: AnyDag,
    readonly prefix: Prefix,
    readonly args: GroupArgs,
  ) {}

  /** Adds the task `<group>.<id>`; name upstream tasks, inside the group or not, by their full ids. */
  task<
    Id extends string,
    Output,
    Upstream extends keyof Outputs & string = never,
    Rule extends TriggerRule = 'all_success',
  >(
    id: Id,
    spec: TaskSpec<Upstream, Rule>,
    operator: TaskOperator<UpstreamOutputs<TaskOutputs<Outputs, Upstream>, Rule>, Output, Params>,
  ): TaskGroup<Outputs & { [K in `${Prefix}.${Id}`]: OutputOf<Output> }, Params, Prefix> {
    return this.next(this.dag.task(this.member(id), this.withArgs(spec) as never, operator as never));
  }

  /** Adds the setup task `<group>.<id>` (see `Dag.setup`). */
  setup<
    Id extends string,
    Output,
    Upstream extends keyof Outputs & string = never,
    Rule extends TriggerRule = 'all_success',
  >(
    id: Id,
    spec: TaskSpec<Upstream, Rule>,
    operator: TaskOperator<UpstreamOutputs<TaskOutputs<Outputs, Upstream>, Rule>, Output, Params>,
  ): TaskGroup<Outputs & { [K in `${Prefix}.${Id}`]: OutputOf<Output> }, Params, Prefix> {
    return this.next(this.dag.setup(this.member(id), this.withArgs(spec) as never, operator as never));
  }

  /** Adds the teardown task `<group>.<id>` (see `Dag.teardown`). */
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
  ): TaskGroup<Outputs & { [K in `${Prefix}.${Id}`]: OutputOf<Output> }, Params, Prefix> {
    return this.next(this.dag.teardown(this.member(id), this.withArgs(spec) as never, operator as never));
  }

  /** Adds the group `<group>.<id>` inside this one; it starts from this group's default arguments. */
  group<G extends string, Added extends Record<string, unknown>, Upstream extends keyof Outputs & string = never>(
    id: G,
    options: GroupOptions<Upstream>,
    build: (group: TaskGroup<Outputs, Params, `${Prefix}.${G}`>) => TaskGroup<Added, Params, `${Prefix}.${G}`>,
  ): TaskGroup<Added & { [K in `${Prefix}.${G}`]: GroupMarker }, Params, Prefix> {
    return this.next(addGroup(this.dag, `${this.prefix}.${String(id)}`, id, options, build as never, this.args));
  }

  private member(id: unknown): string {
    if (typeof id !== 'string' || !LOCAL_ID.test(id)) {
      throw new DagDefinitionError(
        `DAG "${this.dag.id}", group "${this.prefix}": task id "${String(id)}" may only contain letters, digits, "_" and "-" inside a group (its full id is "${this.prefix}.${String(id)}")`,
        this.dag.id,
        `${this.prefix}.${String(id)}`,
      );
    }
    return `${this.prefix}.${id}`;
  }

  private withArgs(spec: unknown): unknown {
    return typeof spec === 'object' && spec !== null ? { ...this.args, ...spec } : spec;
  }

  private next(dag: unknown): never {
    return new TaskGroup(dag as AnyDag, this.prefix, this.args) as never;
  }
}

type AnyDag = Dag<Record<string, unknown>, unknown>;

/**
 * `dag` with the group `id` (full id; `localId` is its last part) built by `build`: its tasks
 * tagged with the group, its roots given the group's upstream tasks. Throws a `DagDefinitionError`
 * naming the DAG, the group and the field at fault.
 */
export function addGroup(
  dag: AnyDag,
  id: string,
  localId: unknown,
  options: unknown,
  build: (group: TaskGroup<Record<string, unknown>, unknown, string>) => unknown,
  inherited: GroupArgs,
): AnyDag {
  const dagId = dag.id;
  const where = `DAG "${dagId}", group "${id}"`;
  if (typeof localId !== 'string' || !LOCAL_ID.test(localId)) {
    throw new DagDefinitionError(
      `${where}: a group id may only contain letters, digits, "_" and "-" (a "." separates a group from its tasks)`,
      dagId,
      undefined,
      'id',
    );
  }
  if (dag.tasks.some((t) => t.id === id) || dag.groups.some((g) => g.id === id)) {
    const what = dag.groups.some((g) => g.id === id) ? 'another group' : 'a task';
    throw new DagDefinitionError(`${where}: ${what} has this id; rename one of them`, dagId);
  }
  const parsed = groupOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new DagDefinitionError(`${where}: ${describeIssues(parsed.error)}`, dagId, undefined, fieldOf(parsed.error));
  }
  if (typeof build !== 'function') {
    throw new DagDefinitionError(`${where}: the last argument must be a function that adds the group's tasks`, dagId);
  }
  const built = build(new TaskGroup(dag, id, { ...inherited, ...parsed.data.defaultArgs }));
  if (!(built instanceof TaskGroup) || built.prefix !== id || built.dag.options !== dag.options) {
    throw new DagDefinitionError(
      `${where}: its function must return the group it was given, with the tasks added (g.task(…).task(…))`,
      dagId,
    );
  }
  const members = built.dag.tasks.slice(dag.tasks.length);
  if (members.length === 0) throw new DagDefinitionError(`${where}: the group has no tasks`, dagId);
  const memberIds = new Set(members.map((t) => t.id));
  const roots = members.filter((t) => !(t.spec.upstream ?? []).some((up) => memberIds.has(up))).map((t) => t.id);
  const upstream = expandIds(parsed.data.upstream ?? [], dag.groups);
  const tagged = members.map((task): TaskDefinition => {
    const spec =
      upstream.length > 0 && roots.includes(task.id)
        ? { ...task.spec, upstream: [...new Set([...upstream, ...(task.spec.upstream ?? [])])] }
        : task.spec;
    return { ...task, spec, group: task.group ?? id };
  });
  const definition: GroupDefinition = {
    id,
    roots,
    leaves: groupLeaves(tagged),
    ...(parsed.data.doc === undefined ? {} : { doc: parsed.data.doc }),
  };
  return built.dag.rebuilt([...dag.tasks, ...tagged], [...built.dag.groups, definition]);
}

/**
 * The ids of the tasks in group `groupId`, its inner groups' included, in declaration order (as
 * Airflow's `TaskGroup.iter_tasks`, which its clear of a group acts on); empty for no such group.
 */
export function groupMemberIds(tasks: readonly Pick<TaskDefinition, 'id' | 'group'>[], groupId: string): string[] {
  return tasks.filter((t) => t.group === groupId || t.group?.startsWith(`${groupId}.`)).map((t) => t.id);
}

/** `spec` with the groups among its upstream ids replaced by their leaves. */
export function expandGroups<S>(spec: S, groups: readonly GroupDefinition[]): S {
  if (groups.length === 0 || typeof spec !== 'object' || spec === null) return spec;
  const upstream = (spec as { upstream?: unknown }).upstream;
  if (!Array.isArray(upstream)) return spec;
  return { ...spec, upstream: expandIds(upstream, groups) };
}

function expandIds<T>(ids: readonly T[], groups: readonly GroupDefinition[]): T[] {
  const byId = new Map(groups.map((g) => [g.id, g]));
  const expanded = ids.flatMap((id) => {
    const group = typeof id === 'string' ? byId.get(id) : undefined;
    return group ? (group.leaves as T[]) : [id];
  });
  return [...new Set(expanded)];
}

/**
 * The tasks a dependency on the group waits for, as Airflow's `TaskGroup.get_leaves`: tasks with
 * no downstream task in the group, where a teardown leaf stands aside for the work tasks before it
 * (never for its setup), so that depending on a group does not wait on its clean-up.
 */
export function groupLeaves(members: readonly TaskDefinition[]): string[] {
  const byId = new Map(members.map((t) => [t.id, t]));
  const downstream = new Map(members.map((t) => [t.id, [] as string[]]));
  for (const task of members) for (const up of task.spec.upstream ?? []) downstream.get(up)?.push(task.id);
  const hasWorkDownstream = (id: string, exclude: string) =>
    (downstream.get(id) ?? []).some((d) => d !== exclude && byId.get(d)?.role !== 'teardown');
  const beforeTeardown = (task: TaskDefinition, seen: Set<string>): string[] =>
    (task.spec.upstream ?? []).flatMap((upId) => {
      const up = byId.get(upId);
      if (!up || seen.has(upId)) return [];
      seen.add(upId);
      if (up.role === 'teardown') return beforeTeardown(up, seen);
      if (task.role === 'teardown' && up.role === 'setup') return [];
      return hasWorkDownstream(upId, task.id) ? [] : [upId];
    });
  const leaves = members
    .filter((t) => (downstream.get(t.id) ?? []).length === 0)
    .flatMap((t) => (t.role === 'teardown' ? beforeTeardown(t, new Set()) : [t.id]));
  return [...new Set(leaves)];
}
