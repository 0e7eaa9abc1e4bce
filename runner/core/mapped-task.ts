/**
 * What `.expand()` takes: the typed spec of a mapped task, and its checks when the DAG is defined.
 * A literal list is known then, so each element's operator is built and checked at import, and
 * `runway validate` reports a bad element before any run.
 */
import { z } from 'zod';
import type { TaskSpec } from './dag-options.ts';
import type { Operator } from './operator.ts';
import { DEFAULT_MAX_MAP_LENGTH, type TaskMapping } from './task-mapping.ts';
import type { TriggerRule } from './trigger-rule.ts';

/** Ids of the tasks in `Outputs` whose output is a list: what a mapped task may map over. */
export type ListOutputIds<Outputs> = {
  [K in keyof Outputs]: Outputs[K] extends readonly unknown[] ? K : never;
}[keyof Outputs] &
  string;

/** An upstream task whose output is a list, or a literal list. */
export type MapSourceOf<Outputs> = ListOutputIds<Outputs> | readonly unknown[];

/** The element type `build` receives. */
export type ItemOf<Outputs, Over> = Over extends keyof Outputs
  ? Outputs[Over] extends readonly (infer Item)[]
    ? Item
    : never
  : Over extends readonly (infer Item)[]
    ? Item
    : never;

export interface MappedTaskSpec<
  Over,
  UpstreamId extends string = string,
  Rule extends TriggerRule = TriggerRule,
> extends TaskSpec<UpstreamId, Rule> {
  /** The id of an upstream task whose output is a list (it becomes an upstream task), or a list. */
  over: Over;
  /**
   * A list longer than this fails the task instead of making that many instances.
   * @defaultValue 1,024 (Airflow's `max_map_length`)
   */
  maxMapLength?: number;
}

/** Past this no `maxMapLength` is accepted: a run would hold more instances than any UI or worker pool can follow. */
export const MAX_MAP_LENGTH_CEILING = 10_000;

const mappedExtrasSchema = z.strictObject({
  over: z.union([z.string().min(1), z.array(z.unknown())], {
    error: 'must be the id of an upstream task whose output is a list, or a list',
  }),
  maxMapLength: z
    .int('must be a whole number')
    .min(1)
    .max(MAX_MAP_LENGTH_CEILING, `must be at most ${MAX_MAP_LENGTH_CEILING.toLocaleString('en')}`)
    .optional(),
  build: z.custom<TaskMapping['build']>((value) => typeof value === 'function', 'must be a function'),
});

/** A mapped task's options could not be accepted; `field` is the option at fault. */
export class MappedSpecError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/**
 * Checks `over`, `maxMapLength` and `build`; for a literal list, builds and checks each element's
 * operator with `checkItem`. Throws a `MappedSpecError` naming the field (and the index).
 */
export function checkMappedSpec(
  extras: { over: unknown; maxMapLength: unknown; build: unknown },
  checkItem: (item: unknown, mapIndex: number) => void,
): TaskMapping {
  const parsed = mappedExtrasSchema.safeParse(
    Object.fromEntries(Object.entries(extras).filter(([, value]) => value !== undefined)),
  );
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = String(issue.path[0] ?? 'over');
    throw new MappedSpecError(`field "${field}": ${issue.message}`, field);
  }
  const mapping: TaskMapping = parsed.data as TaskMapping;
  if (Array.isArray(mapping.over)) {
    const max = mapping.maxMapLength ?? DEFAULT_MAX_MAP_LENGTH;
    if (mapping.over.length > max) {
      throw new MappedSpecError(
        `field "over": the list has ${mapping.over.length} elements, more than maxMapLength ${max}`,
        'over',
      );
    }
    mapping.over.forEach((item, mapIndex) => {
      try {
        checkItem(item, mapIndex);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new MappedSpecError(`field "over", element ${mapIndex}: ${message}`, 'over');
      }
    });
  }
  return mapping;
}

/**
 * The operator a mapped task shows as a whole (`dags show`, `tasks render`): each index runs its
 * own, made by `build` when it runs.
 */
export function mappedPlaceholder(mapping: TaskMapping): Operator<never> {
  return {
    kind: 'mapped',
    config: {
      over: Array.isArray(mapping.over) ? `a list of ${mapping.over.length}` : `output of "${String(mapping.over)}"`,
      maxMapLength: mapping.maxMapLength ?? DEFAULT_MAX_MAP_LENGTH,
    },
    run: () => Promise.reject(new Error('a mapped task runs as its indexes, never as a whole')),
  };
}
