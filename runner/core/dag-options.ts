/**
 * The options a DAG author writes, as types (for the editor) and as zod schemas (for JavaScript
 * callers and casts that get past the type checker). Shapes only: whether a cron expression parses
 * or the graph has a cycle is `dag-checks.ts`'s business, so `runway validate` can report every
 * problem of a DAG at once instead of the first exception.
 */
import { z } from 'zod';
import { isDuration, type Duration } from './duration.ts';
import { TRIGGER_RULES, type TriggerRule } from './trigger-rule.ts';
import { assetScheduleProblem, assetSchema, MAX_ASSETS, type Asset, type AssetSchedule } from './asset.ts';
import { deadlineSchema, type DeadlineOptions } from './deadline.ts';

export type NotifyEvent = 'failure' | 'retry' | 'success';

/** Where to tell people about a DAG run. Secrets are named by environment variable, never inlined. */
export type Notification =
  | {
      type: 'slack';
      /** Environment variable holding the webhook URL, read when the run ends. */ webhookUrlEnv: string;
      on: readonly NotifyEvent[];
    }
  | { type: 'email'; to: readonly string[]; on: readonly NotifyEvent[] };

/** What a callback learns about the run or task instance that triggered it. */
export interface CallbackContext {
  dagId: string;
  runId: string;
  taskId?: string;
  tryNumber?: number;
  state: string;
  error?: string;
}

export type Callback = (context: CallbackContext) => void | Promise<void>;

export interface TaskCallbacks {
  onSuccess?: Callback;
  onFailure?: Callback;
  /** After a failed try that will be retried. */
  onRetry?: Callback;
}

export interface TaskArgs {
  /** Further tries after the first fails. @defaultValue 0 */
  retries?: number;
  /** Wait before a retry. @defaultValue '5m' (Airflow's default) */
  retryDelay?: Duration;
  /** `exponential` doubles the delay each try, with jitter, up to `maxRetryDelay`. @defaultValue 'fixed' */
  retryBackoff?: 'fixed' | 'exponential';
  /** Cap for exponential backoff. @defaultValue '1h' */
  maxRetryDelay?: Duration;
  /** A try running longer than this is aborted and counts as failed. @defaultValue none */
  executionTimeout?: Duration;
  /** Named pool whose slots bound how many such tasks run at once across all DAGs. @defaultValue 'default' */
  pool?: string;
  /**
   * When tasks wait for workers: a positive priority is taken before priority 0 (the latest first),
   * a negative one after every other task (most negative last). Among priority 0, runs' first tasks
   * (no upstream) go before the tasks further down. @defaultValue 0
   */
  priority?: number;
}

export interface TaskSpec<UpstreamId extends string = string, Rule extends TriggerRule = TriggerRule>
  extends TaskArgs, TaskCallbacks {
  /** Ids of tasks that must reach a terminal state first. @defaultValue [] */
  upstream?: readonly UpstreamId[];
  /**
   * When this task may run given its upstream states. Under any rule but `all_success`, an upstream
   * task may have failed or been skipped, so its output is typed `| null` in `ctx.upstream`.
   * @defaultValue 'all_success'
   */
  triggerRule?: Rule;
  /** Notifications for this task only. */
  notifications?: readonly Notification[];
  /** One line shown in `runway dags show`. */
  doc?: string;
  /** The task returns the id, or ids, of the direct downstream tasks to follow; the others are skipped. */
  branch?: boolean;
  /** A falsy output skips everything downstream of this task, whatever their trigger rules. */
  shortCircuit?: boolean;
  /** Queue (worker group) the task runs on. @defaultValue 'default' */
  queue?: string;
  /** Assets this task updates: when it succeeds, an event is recorded for each. @defaultValue [] */
  outlets?: readonly Asset<unknown>[];
}

export interface DagOptions<Params = Record<string, never>> {
  /** Unique id; letters, digits, `_`, `-` and `.`. */
  id: string;
  description: string;
  owner: string;
  tags: readonly string[];
  /**
   * A cron expression, a preset (`@daily`, `@hourly`, …, `@once`), `null` for manual runs only, or
   * assets: a list (runs when each has new events) or `anyOf()` / `allOf()`.
   */
  schedule: string | null | AssetSchedule;
  /** IANA time zone the schedule and `ds` are read in, e.g. `'Europe/Paris'`. */
  timezone: string;
  /** ISO date or date-time; a date alone means midnight in `timezone`. */
  startDate: string;
  /** No run is scheduled for intervals starting after this. */
  endDate?: string;
  /** Create the runs of missed intervals since the start date. @defaultValue false */
  catchup?: boolean;
  /** @defaultValue 16 */
  maxActiveRuns?: number;
  /** @defaultValue 16 */
  maxActiveTasks?: number;
  /** A run still going after this is failed. @defaultValue none */
  dagRunTimeout?: Duration;
  /** Task arguments every task starts from. */
  defaultArgs?: TaskArgs;
  /** Schema of a manual trigger's conf; typed `ctx.params` in tasks. */
  params?: z.ZodType<Params>;
  notifications?: readonly Notification[];
  /** Created paused; the scheduler ignores it until unpaused. @defaultValue false */
  pausedOnCreation?: boolean;
  /** Finished runs kept, the latest by logical date (runs past the scheduler's retention days go too). @defaultValue the scheduler's `--retention-runs` (1,000) */
  keepRuns?: number;
  /** Called once when a run ends in success. */
  onSuccess?: Callback;
  /** Called once when a run ends failed. */
  onFailure?: Callback;
  /** Tell people once when a run has not finished this long after a point of it. @defaultValue none */
  deadline?: DeadlineOptions;
}

const durationSchema = z.string().refine(isDuration, {
  message: 'must be a number and a unit, like "30s", "5m", "2h" or "1d"',
});

const notifyEventsSchema = z.array(z.enum(['failure', 'retry', 'success'])).min(1);

export const notificationSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('slack'), webhookUrlEnv: z.string().min(1), on: notifyEventsSchema }),
  z.strictObject({ type: z.literal('email'), to: z.array(z.string()).min(1), on: notifyEventsSchema }),
]);

export const taskArgsShape = {
  retries: z.int().min(0).optional(),
  retryDelay: durationSchema.optional(),
  retryBackoff: z.enum(['fixed', 'exponential']).optional(),
  maxRetryDelay: durationSchema.optional(),
  executionTimeout: durationSchema.optional(),
  pool: z.string().min(1).optional(),
  priority: z.int().optional(),
};

const callbackSchema = z.custom<Callback>((value) => typeof value === 'function', 'must be a function').optional();

export const taskSpecSchema = z.strictObject({
  onSuccess: callbackSchema,
  onFailure: callbackSchema,
  onRetry: callbackSchema,
  ...taskArgsShape,
  upstream: z.array(z.string()).optional(),
  triggerRule: z.enum(TRIGGER_RULES).optional(),
  notifications: z.array(notificationSchema).optional(),
  doc: z.string().optional(),
  branch: z.boolean().optional(),
  shortCircuit: z.boolean().optional(),
  queue: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, "_" or "-"')
    .optional(),
  outlets: z.array(assetSchema).max(MAX_ASSETS).optional(),
});

/** A cron string or preset (read by `dag-checks.ts`), null, or an asset schedule (checked here). */
const scheduleSchema = z.unknown().superRefine((value, ctx) => {
  if (value === null) return;
  if (typeof value === 'string') {
    if (value.length === 0)
      ctx.addIssue({ code: 'custom', message: 'must not be empty; use null for manual runs only' });
    return;
  }
  const problem = assetScheduleProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `${problem} (a schedule is a cron string, null, or assets)` });
});

export const dagOptionsSchema = z.strictObject({
  id: z.string().min(1),
  description: z.string(),
  owner: z.string(),
  tags: z.array(z.string()),
  schedule: scheduleSchema,
  timezone: z.string().min(1),
  startDate: z.string().min(1),
  endDate: z.string().min(1).optional(),
  catchup: z.boolean().optional(),
  maxActiveRuns: z.int().min(1).optional(),
  maxActiveTasks: z.int().min(1).optional(),
  dagRunTimeout: durationSchema.optional(),
  defaultArgs: z.strictObject(taskArgsShape).optional(),
  params: z.custom<z.ZodType>((value) => value instanceof z.ZodType, 'must be a zod schema').optional(),
  notifications: z.array(notificationSchema).optional(),
  pausedOnCreation: z.boolean().optional(),
  keepRuns: z.int().min(1).optional(),
  onSuccess: callbackSchema,
  onFailure: callbackSchema,
  deadline: deadlineSchema.optional(),
});

/** `field "a.b": message` for each zod issue, one per line. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `field "${issue.path.join('.') || '(root)'}": ${issue.message}`).join('; ');
}
