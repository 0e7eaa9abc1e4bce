/**
 * Deadline alerts (Airflow 3's successor to SLAs): a DAG says by when, counted from a point of its
 * run, the run should have finished; if it has not, its notifiers are told once. Pure: when a run is
 * due, whether it missed, and what the alert says. `state/deadlines.ts` keeps the due times in
 * Redis; `services/deadline-alerts.ts` fires them.
 */
import { z } from 'zod';
import { durationMs, isDuration, type Duration } from './duration.ts';
import type { DagRunRecord } from './model.ts';

/** What a deadline callback learns about the run that missed it. */
export interface DeadlineMissContext {
  dagId: string;
  runId: string;
  /** The run's state when the miss was found: `queued` or `running`, or the state it ended in late. */
  state: string;
  /** ISO time the run should have finished by. */
  deadline: string;
}

export type DeadlineNotifier =
  | {
      type: 'slack';
      /** Environment variable holding the webhook URL, read when the alert is sent. */
      webhookUrlEnv: string;
    }
  | ((context: DeadlineMissContext) => void | Promise<void>);

export interface DeadlineOptions {
  /** How long after `from` the run must have finished, like `'3h'`. */
  after: Duration;
  /**
   * `dataIntervalEnd`: the end of the run's data interval (a scheduled run's "the data is in" time;
   * a manual run's is its trigger time). `queuedAt`: when the run was created.
   */
  from: 'dataIntervalEnd' | 'queuedAt';
  /** Who is told, once per missed run: Slack webhooks and functions. */
  notify: readonly DeadlineNotifier[];
}

export const DEADLINE_REFERENCES = ['dataIntervalEnd', 'queuedAt'] as const;

export const deadlineSchema = z.strictObject({
  after: z.string().refine(isDuration, { message: 'must be a number and a unit, like "30s", "5m", "3h" or "1d"' }),
  from: z.enum(DEADLINE_REFERENCES, { message: `must be one of ${DEADLINE_REFERENCES.join(', ')}` }),
  notify: z
    .array(
      z.union(
        [
          z.strictObject({ type: z.literal('slack'), webhookUrlEnv: z.string().min(1) }),
          z.custom<(context: DeadlineMissContext) => void>((value) => typeof value === 'function'),
        ],
        { message: 'each notifier is { type: "slack", webhookUrlEnv: "..." } or a function' },
      ),
    )
    .min(1, 'must name at least one notifier: a deadline nobody hears of is not an alert'),
});

/** When the run must have finished by, in ms since the epoch. */
export function deadlineDueAt(
  deadline: Pick<DeadlineOptions, 'after' | 'from'> & Partial<DeadlineOptions>,
  run: Pick<DagRunRecord, 'dataIntervalEnd' | 'createdAt'>,
) {
  const from = deadline.from === 'queuedAt' ? run.createdAt : run.dataIntervalEnd;
  return Date.parse(from) + durationMs(deadline.after);
}

/** True when a run, as it is now, has missed a deadline due at `dueAt`: not finished by then. */
export function missedDeadline(run: Pick<DagRunRecord, 'state' | 'endedAt'>, dueAt: number, now: number): boolean {
  if (now < dueAt) return false;
  if (run.state !== 'success' && run.state !== 'failed') return true;
  return run.endedAt === undefined || Date.parse(run.endedAt) > dueAt;
}

export function deadlineAlertText(
  dagId: string,
  runId: string,
  state: string,
  deadline: DeadlineOptions,
  dueAt: number,
) {
  return (
    `Runway: DAG ${dagId} run ${runId} missed its deadline: not finished ${deadline.after} after ` +
    `${deadline.from} (${new Date(dueAt).toISOString()}); it is ${state}`
  );
}
