/**
 * Running SQL through the Redshift Data API: submit, poll with backoff until a final state, cancel
 * when the task's signal aborts, and report Redshift's own error. The client is injected.
 */
import { createHash } from 'node:crypto';
import type { DescribeStatementResponse, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { redshiftDataSdk } from '../aws-sdk.ts';
import { TaskError, type Logger, type RunInfo } from '../../runner/index.ts';

export type RedshiftDataApi = Pick<RedshiftDataClient, 'send'>;

/** A provisioned cluster (with a database user or a secret) or a Redshift Serverless workgroup. */
export type RedshiftTarget =
  | { clusterIdentifier: string; database: string; dbUser?: string; secretArn?: string }
  | { workgroupName: string; database: string; secretArn?: string };

export interface StatementResult {
  statementId: string;
  /** Rows of each statement, in order, where Redshift reports them. */
  rows: (number | undefined)[];
  durationMs: number | undefined;
}

export interface PollOptions {
  /** @defaultValue 250 */
  minPollMs?: number;
  /** @defaultValue 10_000 */
  maxPollMs?: number;
}

function targetParams(target: RedshiftTarget) {
  return 'workgroupName' in target
    ? { WorkgroupName: target.workgroupName, Database: target.database, SecretArn: target.secretArn }
    : {
        ClusterIdentifier: target.clusterIdentifier,
        Database: target.database,
        DbUser: target.dbUser,
        SecretArn: target.secretArn,
      };
}

/**
 * The API request a list of statements becomes: one statement, or a batch Redshift runs as one
 * transaction. The client token is the same for every attempt of one try, so a worker that dies
 * after submitting re-attaches to its statement instead of running it twice.
 */
export function statementRequest(target: RedshiftTarget, sqls: readonly string[], run: RunInfo) {
  const clientToken = createHash('sha256')
    .update(`${run.dagId}\n${run.runId}\n${run.taskId}\n${run.tryNumber}`)
    .digest('hex')
    .slice(0, 64);
  const common = {
    ...Object.fromEntries(Object.entries(targetParams(target)).filter(([, v]) => v !== undefined)),
    StatementName: `runway.${run.dagId}.${run.taskId}`.slice(0, 500),
    ClientToken: clientToken,
  };
  return sqls.length === 1
    ? { api: 'ExecuteStatement' as const, params: { ...common, Sql: sqls[0]! } }
    : { api: 'BatchExecuteStatement' as const, params: { ...common, Sqls: [...sqls] } };
}

export async function submitStatements(
  client: RedshiftDataApi,
  request: ReturnType<typeof statementRequest>,
): Promise<string> {
  const response =
    request.api === 'ExecuteStatement'
      ? await client.send(new (await redshiftDataSdk()).ExecuteStatementCommand(request.params))
      : await client.send(new (await redshiftDataSdk()).BatchExecuteStatementCommand(request.params));
  if (!response.Id) throw new TaskError('failed', `Redshift ${request.api} returned no statement id`);
  return response.Id;
}

export type StatementState = { done: true; result: StatementResult } | { done: false; status: string };

/** One look at a statement: finished, still going, or a TaskError with Redshift's message and the SQL. */
export async function checkStatement(
  client: RedshiftDataApi,
  statementId: string,
  sqls: readonly string[],
): Promise<StatementState> {
  let described: DescribeStatementResponse;
  try {
    described = await client.send(new (await redshiftDataSdk()).DescribeStatementCommand({ Id: statementId }));
  } catch (error) {
    // The SDK already retried throttling; one more look later costs nothing.
    if ((error as Error).name === 'ThrottlingException') return { done: false, status: 'THROTTLED' };
    throw error;
  }
  switch (described.Status) {
    case 'FINISHED':
      return {
        done: true,
        result: {
          statementId,
          rows: described.SubStatements?.length
            ? described.SubStatements.map((s) => rowsOf(s.ResultRows))
            : [rowsOf(described.ResultRows)],
          durationMs: described.Duration === undefined ? undefined : Math.round(described.Duration / 1e6),
        },
      };
    case 'FAILED':
      throw new TaskError(
        'failed',
        `Redshift statement ${statementId} failed: ${described.Error ?? 'no error text'}\nSQL:\n${sqls.join(';\n')}`,
      );
    case 'ABORTED':
      throw new TaskError('failed', `Redshift statement ${statementId} was aborted (cancelled outside this task?)`);
    default:
      return { done: false, status: described.Status ?? 'UNKNOWN' };
  }
}

const rowsOf = (rows: number | undefined) => (rows === undefined || rows < 0 ? undefined : rows);

/** Polls until the statement ends; on abort (timeout, shutdown) cancels it in Redshift. */
export async function waitForStatement(
  client: RedshiftDataApi,
  statementId: string,
  sqls: readonly string[],
  options: PollOptions & { signal: AbortSignal; log: Logger },
): Promise<StatementResult> {
  let delay = options.minPollMs ?? 250;
  let lastStatus = '';
  for (;;) {
    if (options.signal.aborted) {
      await cancelStatement(client, statementId, options.log);
      throw options.signal.reason instanceof Error ? options.signal.reason : new TaskError('timeout', 'aborted');
    }
    const state = await checkStatement(client, statementId, sqls);
    if (state.done) return state.result;
    if (state.status !== lastStatus) options.log.info(`Redshift statement ${statementId}: ${state.status}`);
    lastStatus = state.status;
    await sleep(delay, options.signal);
    delay = Math.min(options.maxPollMs ?? 10_000, Math.round(delay * 1.5));
  }
}

export async function cancelStatement(client: RedshiftDataApi, statementId: string, log: Logger): Promise<void> {
  try {
    await client.send(new (await redshiftDataSdk()).CancelStatementCommand({ Id: statementId }));
    log.warn(`cancelled Redshift statement ${statementId}`);
  } catch (error) {
    log.warn(`could not cancel Redshift statement ${statementId}: ${(error as Error).message}`);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
