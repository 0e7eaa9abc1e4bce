/**
 * Run ids a client may choose (`--run-id`, the API's `runId`). Pure, so the CLI checks a flag before
 * it loads anything that talks to Redis.
 */

/** Ids a client may choose for a run: the id alphabet, plus ISO dates' `:` and `+`. */
const CLIENT_RUN_ID = /^[A-Za-z0-9_.:+-]{1,200}$/;
/** The scheduler's and backfill's own ids: a manual run must not take an interval's id. */
const RESERVED_RUN_ID = /^(scheduled|backfill|asset_triggered)__/;

/** Why a client may not choose this run id, or undefined when it may. */
export function clientRunIdProblem(runId: string): string | undefined {
  if (!CLIENT_RUN_ID.test(runId) || runId === '.' || runId === '..') {
    return `run id "${runId}" must be 1 to 200 of A-Z a-z 0-9 _ . : + - (and not "." or "..")`;
  }
  if (RESERVED_RUN_ID.test(runId)) {
    return `run id "${runId}" starts with a prefix the scheduler and backfill use; choose another`;
  }
  return undefined;
}
