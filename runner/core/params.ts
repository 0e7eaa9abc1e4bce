/**
 * The conf of a manual run, checked against the DAG's `params` schema. zod's `z.object()` drops keys
 * it does not know without a word, so a typo in `--conf` (`fullRefesh`) would start a run with the
 * default instead; unknown keys are refused unless the schema says it takes them (`z.looseObject()`,
 * `.catchall()`, `.passthrough()`).
 */
import { z } from 'zod';

/**
 * Keys of `conf` the schema neither declares nor allows, and the keys it declares; nothing unknown
 * when it is not an object schema.
 */
export function unknownParamKeys(
  schema: z.ZodType,
  conf: Record<string, unknown>,
): { unknown: string[]; declared: string[] } {
  const object = objectSchemaOf(schema);
  const catchall = object?._zod.def.catchall;
  // z.object() has no catchall (it strips), z.strictObject() a never one: neither takes other keys.
  if (!object || (catchall !== undefined && catchall._zod.def.type !== 'never')) return { unknown: [], declared: [] };
  const declared = Object.keys(object.shape);
  return { unknown: Object.keys(conf).filter((key) => !declared.includes(key)), declared };
}

/** The object schema under wrappers that keep its keys (default, optional, a pipe's input, …). */
function objectSchemaOf(schema: z.ZodType): z.ZodObject | undefined {
  let current: z.ZodType = schema;
  for (let depth = 0; depth < 10; depth++) {
    if (current instanceof z.ZodObject) return current;
    const def = current._zod.def as { innerType?: z.ZodType; in?: z.ZodType };
    const next = def.innerType ?? def.in;
    if (!next) return undefined;
    current = next;
  }
  return undefined;
}
