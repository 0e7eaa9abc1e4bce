/**
 * A task that runs SQL through the Redshift Data API, in one of two modes: waiting inside the
 * try (a worker slot is held while Redshift works), or in reschedule mode, where the statement id
 * is kept in the sensor state between pokes and no worker slot is held. Shared by COPY and UNLOAD.
 */
import {
  durationMs,
  type Duration,
  type Operator,
  type RunInfo,
  type Sensor,
  type TaskContext,
} from '../../runner/index.ts';
import {
  cancelStatement,
  checkStatement,
  statementRequest,
  submitStatements,
  waitForStatement,
  type PollOptions,
  type RedshiftTarget,
  type StatementResult,
} from './statement.ts';

export interface RescheduleOptions {
  /** Fail (and cancel the statement) after this long since the first poke. */
  timeout: Duration;
  /** Time between looks at the statement. @defaultValue '30s' */
  pollEvery?: Duration;
}

export interface StatementTaskOptions {
  target: RedshiftTarget;
  /** Wait between pokes as a delayed job instead of inside the try. */
  reschedule?: RescheduleOptions;
  poll?: PollOptions;
}

export interface StatementSensorState {
  statementId: string;
}

export type StatementOperator<Output> = (Operator<Output> | Sensor<Output, StatementSensorState>) & {
  render(run: RunInfo): { api: string; params: Record<string, unknown>; sql: string[] };
};

export function statementTask<Output>(
  kind: string,
  config: unknown,
  options: StatementTaskOptions,
  sqlFor: (run: RunInfo) => string[],
  outputOf: (result: StatementResult, ctx: TaskContext) => Output | Promise<Output>,
): StatementOperator<Output> {
  const render = (run: RunInfo) => {
    const sql = sqlFor(run);
    const request = statementRequest(options.target, sql, run);
    return { api: request.api, params: request.params as Record<string, unknown>, sql };
  };
  if (!options.reschedule) {
    return {
      kind,
      config,
      render,
      async run(ctx) {
        const sql = sqlFor(ctx);
        const statementId = await submitStatements(ctx.aws.redshiftData, statementRequest(options.target, sql, ctx));
        ctx.log.info(`submitted Redshift statement ${statementId}`);
        const result = await waitForStatement(ctx.aws.redshiftData, statementId, sql, {
          ...options.poll,
          signal: ctx.signal,
          log: ctx.log,
        });
        return await outputOf(result, ctx);
      },
    };
  }
  const pollMs = durationMs(options.reschedule.pollEvery ?? '30s');
  return {
    kind,
    config,
    render,
    sensor: { timeoutMs: durationMs(options.reschedule.timeout), softFail: false },
    async poke(ctx) {
      const sql = sqlFor(ctx);
      if (!ctx.state) {
        // The same client token as any earlier poke of this try: a lost answer re-attaches.
        const statementId = await submitStatements(ctx.aws.redshiftData, statementRequest(options.target, sql, ctx));
        ctx.log.info(`submitted Redshift statement ${statementId}; waiting in reschedule mode`);
        return { done: false, pokeAgainInMs: pollMs, state: { statementId } };
      }
      const state = await checkStatement(ctx.aws.redshiftData, ctx.state.statementId, sql);
      if (state.done) return { done: true, value: await outputOf(state.result, ctx) };
      return { done: false, pokeAgainInMs: pollMs, state: ctx.state };
    },
    async onTimeout(ctx) {
      if (ctx.state) await cancelStatement(ctx.aws.redshiftData, ctx.state.statementId, ctx.log);
    },
  };
}
