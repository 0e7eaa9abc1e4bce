/**
 * A scheduler pass's last step: takes the deadlines due by now (`state/deadlines.ts`), and for each
 * run that has not finished by its deadline records the miss and tells the DAG's notifiers, once.
 * A run that finished in time is only taken off the watch list.
 */
import { deadlineAlertText, deadlineDueAt, missedDeadline, type DeadlineOptions } from '../core/deadline.ts';
import { sendSlack } from '../core/notify.ts';
import { withLogContext } from '../core/operator.ts';
import type { DeadlineEntry } from '../state/deadlines.ts';
import type { Engine } from '../state/engine.ts';

/**
 * How long a claimed deadline is this scheduler's alone: a scheduler that dies while telling
 * leaves it to another after this. Far longer than a Slack post (10 s at most).
 */
export const DEADLINE_LEASE_MS = 60_000;

/** Handles the deadlines due by `now`; returns how many misses it sent alerts for. */
export async function fireDueDeadlines(engine: Engine, now: Date): Promise<number> {
  // No Redis call from a scheduler none of whose DAGs has a deadline: the entries are others'.
  if (!engine.registry.list().some((loaded) => loaded.summary.deadline)) return 0;
  const entries = await engine.deadlines.claimDue(now.getTime(), DEADLINE_LEASE_MS);
  let alerted = 0;
  for (const entry of entries) {
    try {
      if (await handle(engine, entry, now)) alerted++;
    } catch (error) {
      // The lease runs out and a pass (this scheduler's or another's) takes it again.
      withLogContext(engine.log, entry).error(
        `deadline of ${entry.dagId} ${entry.runId}: ${(error as Error).message} (tried again later)`,
      );
    }
  }
  return alerted;
}

async function handle(engine: Engine, entry: DeadlineEntry, now: Date): Promise<boolean> {
  const loaded = engine.registry.get(entry.dagId);
  // Another deployment's DAG: its own schedulers take it once the lease runs out.
  if (!loaded) return false;
  await loaded.load?.(); // its notifiers are functions of the module
  const deadline = loaded.dag.options.deadline;
  const run = await engine.store.getRun(entry.dagId, entry.runId);
  // The run was deleted, or the DAG no longer has a deadline: nothing to watch.
  if (!run || !deadline) {
    await engine.deadlines.done(entry);
    return false;
  }
  const dueAt = deadlineDueAt(deadline, run);
  if (dueAt > now.getTime()) {
    // The DAG's deadline moved later since the run was created.
    await engine.deadlines.reschedule(entry, dueAt);
    return false;
  }
  if (!missedDeadline(run, dueAt, now.getTime())) {
    await engine.deadlines.done(entry);
    return false;
  }
  const miss = await engine.deadlines.recordMiss(entry, {
    deadline: new Date(dueAt).toISOString(),
    detectedAt: now.toISOString(),
    state: run.state,
  });
  if (!miss) {
    await engine.deadlines.done(entry);
    return false;
  }
  // Told already (by a scheduler that stopped before taking the entry off): not again.
  if (miss.notifiedAt) {
    await engine.deadlines.done(entry);
    return false;
  }
  const log = withLogContext(engine.log, entry);
  log.warn(`DAG run ${entry.dagId} ${entry.runId} missed its deadline ${miss.deadline} (${miss.state})`);
  await notify(engine, deadline, {
    dagId: entry.dagId,
    runId: entry.runId,
    state: miss.state,
    deadline: miss.deadline,
  });
  await engine.deadlines.markNotified(entry, miss, new Date());
  await engine.deadlines.done(entry);
  return true;
}

async function notify(
  engine: Engine,
  deadline: DeadlineOptions,
  context: { dagId: string; runId: string; state: string; deadline: string },
): Promise<void> {
  const text = deadlineAlertText(context.dagId, context.runId, context.state, deadline, Date.parse(context.deadline));
  for (const notifier of deadline.notify) {
    if (typeof notifier !== 'function') {
      await sendSlack(notifier.webhookUrlEnv, text, { env: engine.env, fetch: engine.fetch, log: engine.log });
      continue;
    }
    // A callback that throws is logged; the other notifiers are still told.
    try {
      await notifier(context);
    } catch (error) {
      withLogContext(engine.log, context).error(
        `deadline callback for ${context.dagId} ${context.runId} failed: ${(error as Error).message}`,
      );
    }
  }
}
