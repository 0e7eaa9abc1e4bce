/**
 * The contract between the runner and operators. An operator is a plain object: a `kind`, its
 * validated `config`, and either `run(ctx)` or, for a sensor, `poke(ctx)`. Everything an operator
 * touches in the outside world reaches it through `ctx`, so tests hand it mocks and production
 * hands it real clients.
 */
import type { GlueClient } from '@aws-sdk/client-glue';
import type { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import type { S3Client } from '@aws-sdk/client-s3';
import type { TaskAssets } from './asset.ts';

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /**
   * A logger whose lines also say which DAG, run, task and try they are about. Optional: a logger
   * without it (a test's, a plain one) is used as it is.
   */
  child?(context: LogContext): Logger;
}

/** What a log line is about: the console shows it before the message, JSON lines as fields. */
export interface LogContext {
  readonly dagId?: string;
  readonly runId?: string;
  readonly taskId?: string;
  readonly tryNumber?: number;
}

/** `log` with `context` bound to its lines, where the logger can carry one. */
export function withLogContext(log: Logger, context: LogContext): Logger {
  return log.child ? log.child(context) : log;
}

/** The AWS clients a task may use, narrowed to what operators call. Built lazily by the runner. */
export interface AwsClients {
  readonly s3: Pick<S3Client, 'send'>;
  readonly redshiftData: Pick<RedshiftDataClient, 'send'>;
  readonly glue: Pick<GlueClient, 'send'>;
}

/** What a DAG run knows about itself: the values Airflow exposes as template variables. */
export interface RunInfo<Params = Record<string, unknown>> {
  readonly dagId: string;
  readonly taskId: string;
  /** `scheduled__<logical date>` or `manual__<time>`. */
  readonly runId: string;
  /** 1 for the first try. */
  readonly tryNumber: number;
  /** The start of the data interval; what the run is "for". */
  readonly logicalDate: Date;
  readonly dataIntervalStart: Date;
  readonly dataIntervalEnd: Date;
  /** The logical date as `YYYY-MM-DD` in the DAG's time zone. */
  readonly ds: string;
  /** The logical date as `YYYYMMDD` in the DAG's time zone. */
  readonly dsNodash: string;
  /** The run's conf, validated by the DAG's `params` schema. */
  readonly params: Params;
}

export interface TaskContext<
  Upstream = Record<string, unknown>,
  Params = Record<string, unknown>,
> extends RunInfo<Params> {
  /** Outputs of the upstream tasks this task declared, in their JSON form. */
  readonly upstream: Upstream;
  readonly log: Logger;
  /** Fires when the try times out or the worker shuts down; pass it to every remote wait. */
  readonly signal: AbortSignal;
  readonly aws: AwsClients;
  /** Run-time configuration (like Airflow Variables), read when the task runs, never at import. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The asset events that triggered the run, and the extras of the events this task records. */
  readonly assets: TaskAssets;
}

/** An option that is either a value or a function of the run, resolved when the task runs. */
export type Templated<T> = T | ((run: RunInfo) => T);

export function resolveTemplated<T>(value: Templated<T>, run: RunInfo): T {
  return typeof value === 'function' ? (value as (run: RunInfo) => T)(run) : value;
}

/** The DAG and task an operator is added to. */
export interface TaskIdentity {
  readonly dagId: string;
  readonly taskId: string;
}

/**
 * Called by `.task()` when an operator is added to a DAG, so at import and in `runway validate`:
 * throws what the operator could never send for this DAG and task (a name it derives from the task
 * id that is too long), with a message naming the field. `.task()` adds the DAG and the task.
 */
export type CheckTask = (task: TaskIdentity) => void;

export interface Operator<Output, Upstream = Record<string, unknown>> {
  readonly kind: string;
  /** The validated options, shown by `runway tasks render` and `runway dags show`. */
  readonly config: unknown;
  run(ctx: TaskContext<Upstream>): Promise<Output>;
  checkTask?: CheckTask;
}

export type PokeResult<Value, State> =
  | { readonly done: true; readonly value: Value }
  | { readonly done: false; readonly pokeAgainInMs: number; readonly state: State };

export interface SensorContext<State> extends TaskContext {
  /** What the previous poke returned as `state`; undefined on the first poke. */
  readonly state: State | undefined;
  /** When this sensor first poked, for timeouts that count from the first poke. */
  readonly firstPokeAt: Date;
  /** 1 for the first poke. */
  readonly pokeNumber: number;
}

export interface SensorSettings {
  /** Give up after this long since the first poke. */
  readonly timeoutMs: number;
  /** On timeout, end as skipped instead of failed. */
  readonly softFail: boolean;
}

/**
 * A sensor returns instead of sleeping: "done, with this value" or "not yet, poke again in N ms,
 * keeping this state". The runner parks the task as a delayed job between pokes, so a waiting
 * sensor holds no worker slot.
 */
export interface Sensor<Value, State = unknown> {
  readonly kind: string;
  readonly config: unknown;
  readonly sensor: SensorSettings;
  poke(ctx: SensorContext<State>): Promise<PokeResult<Value, State>>;
  /** Called once when the sensor times out, to release what it waits on (cancel a statement). */
  onTimeout?(ctx: SensorContext<State>): Promise<void>;
  checkTask?: CheckTask;
}

/** What a task would send, shown by `runway tasks render` without sending anything. */
export interface Renderable {
  render(run: RunInfo): unknown;
}

export function isRenderable(operator: unknown): operator is Renderable {
  return typeof (operator as Partial<Renderable>).render === 'function';
}

export type AnyOperator = Operator<unknown, never> | Sensor<unknown, unknown>;

export function isSensor(operator: AnyOperator): operator is Sensor<unknown, unknown> {
  return 'poke' in operator && typeof operator.poke === 'function';
}
