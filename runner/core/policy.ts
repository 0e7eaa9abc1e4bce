/**
 * The team's rules for DAGs, read from `runway.policy.json` at the repository root. They are what
 * the Airflow CI Runway replaces used to check; each can be tuned or turned off (`"enabled": false`).
 */
import { z } from 'zod';
import type { DagSummary } from './dag-summary.ts';
import type { DagProblem } from './problem.ts';

const rule = <Shape extends z.ZodRawShape>(shape: Shape) =>
  z.strictObject({ enabled: z.boolean().default(true), ...shape });

export const policySchema = z.strictObject({
  $schema: z.string().optional(),
  rules: z
    .strictObject({
      /** Every DAG file imports without error. */
      imports: rule({}).prefault({}),
      /** At least one tag, and, when `allowed` is not empty, at least one of `allowed`. */
      tags: rule({ allowed: z.array(z.string().min(1)).default([]) }).prefault({}),
      /** A description of at least `minLength` characters. */
      description: rule({ minLength: z.int().min(0).default(20) }).prefault({}),
      /** An owner of at least `minLength` characters that is not a placeholder such as "airflow". */
      owner: rule({
        minLength: z.int().min(0).default(3),
        placeholders: z.array(z.string()).default(['airflow', 'owner', 'todo', 'tbd', 'unknown', 'nobody', 'me']),
      }).prefault({}),
      /** No e-mail notifications, on the DAG or any task. */
      noEmailNotifications: rule({}).prefault({}),
      /** Retries at most `max`, on the DAG's default arguments and on every task override. */
      retries: rule({ max: z.int().min(0).default(3) }).prefault({}),
      /** A mapped task's `maxMapLength` (1,024 when not set) is at most `max`. */
      maxMapLength: rule({ max: z.int().min(1).default(1_024) }).prefault({}),
      /** The DAG id contains `separator` and starts with one of `allowedPrefixes` (any, if empty). */
      dagId: rule({
        separator: z.string().default('__'),
        allowedPrefixes: z.array(z.string().min(1)).default([]),
      }).prefault({}),
    })
    .prefault({}),
});

export type Policy = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;

export const DEFAULT_POLICY: Policy = policySchema.parse({});

export function checkPolicy(dag: DagSummary, policy: Policy): DagProblem[] {
  const { rules } = policy;
  const dagId = dag.dagId;
  const problems: DagProblem[] = [];
  const add = (ruleName: string, message: string, taskId?: string) =>
    problems.push({ dagId, rule: ruleName, message, ...(taskId === undefined ? {} : { taskId }) });

  if (rules.tags.enabled) {
    if (dag.tags.length === 0) add('tags', 'the DAG has no tags');
    else if (rules.tags.allowed.length > 0 && !dag.tags.some((tag) => rules.tags.allowed.includes(tag))) {
      add('tags', `tags [${dag.tags.join(', ')}] include none of the allowed [${rules.tags.allowed.join(', ')}]`);
    }
  }
  if (rules.description.enabled && dag.description.trim().length < rules.description.minLength) {
    add(
      'description',
      `description "${dag.description}" has ${dag.description.trim().length} characters; at least ${rules.description.minLength} needed`,
    );
  }
  if (rules.owner.enabled) {
    const owner = dag.owner.trim();
    if (owner.length < rules.owner.minLength) {
      add('owner', `owner "${dag.owner}" has ${owner.length} characters; at least ${rules.owner.minLength} needed`);
    } else if (rules.owner.placeholders.some((p) => p.toLowerCase() === owner.toLowerCase())) {
      add('owner', `owner "${dag.owner}" is a placeholder; name the team or person who answers for this DAG`);
    }
  }
  if (rules.noEmailNotifications.enabled) {
    if (dag.notifications.some((n) => n.type === 'email')) {
      add('no-email-notifications', 'e-mail notifications are not allowed; use a Slack notification');
    }
    for (const task of dag.tasks) {
      if (task.notifications.some((n) => n.type === 'email')) {
        add('no-email-notifications', 'e-mail notifications are not allowed; use a Slack notification', task.id);
      }
    }
  }
  if (rules.retries.enabled) {
    const max = rules.retries.max;
    const dagRetries = dag.defaultArgs.retries;
    if (dagRetries !== undefined && dagRetries > max) {
      add('retries', `defaultArgs.retries is ${dagRetries}; the policy allows at most ${max}`);
    }
    for (const task of dag.tasks) {
      if (task.args.retries !== undefined && task.args.retries > max) {
        add('retries', `retries is ${task.args.retries}; the policy allows at most ${max}`, task.id);
      }
    }
  }
  if (rules.maxMapLength.enabled) {
    for (const task of dag.tasks) {
      if (task.maxMapLength !== undefined && task.maxMapLength > rules.maxMapLength.max) {
        add(
          'max-map-length',
          `maxMapLength is ${task.maxMapLength}; the policy allows at most ${rules.maxMapLength.max}`,
          task.id,
        );
      }
    }
  }
  if (rules.dagId.enabled) {
    const { separator, allowedPrefixes } = rules.dagId;
    if (separator !== '' && !dagId.includes(separator)) {
      add('dag-id', `DAG id "${dagId}" must contain "${separator}" (like "<area>${separator}<name>")`);
    }
    if (allowedPrefixes.length > 0 && !allowedPrefixes.some((prefix) => dagId.startsWith(prefix))) {
      add('dag-id', `DAG id "${dagId}" must start with one of ${allowedPrefixes.map((p) => `"${p}"`).join(', ')}`);
    }
  }
  return problems;
}
