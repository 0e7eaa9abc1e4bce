/** zod schemas shared by the Redshift operators: what their options must look like at the boundary. */
import { z } from 'zod';
import { isDuration } from '../../runner/core/duration.ts';

const duration = z.string().refine(isDuration, { message: 'must be a number and a unit, like "30s" or "2h"' });

export const targetSchema = z.union([
  z.strictObject({
    clusterIdentifier: z.string().min(1),
    database: z.string().min(1),
    dbUser: z.string().min(1).optional(),
    secretArn: z.string().startsWith('arn:').optional(),
  }),
  z.strictObject({
    workgroupName: z.string().min(1),
    database: z.string().min(1),
    secretArn: z.string().startsWith('arn:').optional(),
  }),
]);

export const statementTaskShape = {
  target: targetSchema,
  reschedule: z.strictObject({ timeout: duration, pollEvery: duration.optional() }).optional(),
  poll: z.strictObject({ minPollMs: z.int().min(10).optional(), maxPollMs: z.int().min(10).optional() }).optional(),
};

/** A value or a function of the run. */
export const templated = <T extends z.ZodType>(schema: T) =>
  z.union([schema, z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function')]);

/** Throws an error naming the operator and each wrong field. */
export function parseOptions<T>(schema: z.ZodType<T>, options: unknown, operator: string): T {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `field "${i.path.join('.') || '(root)'}": ${i.message}`).join('; ');
    throw new Error(`${operator}: ${fields}`);
  }
  return parsed.data;
}
