/**
 * Assets (Airflow's datasets): a name, a URI, for data a task updates. A task lists the assets it
 * updates as `outlets`; when it succeeds, an asset event is recorded for each. A DAG scheduled on
 * assets runs when the condition over its assets has new events. Pure: the URI rules, the
 * condition and its evaluation; Redis is `state/asset-events.ts`'s business.
 */
import { z } from 'zod';

const ASSET_BRAND = Symbol.for('runway.asset');

/**
 * A piece of data tasks update, named by URI. `Extra` is the type of the extra JSON its events
 * carry (a partition, a row count): a consumer reading `ctx.assets.of(asset)` gets it typed.
 */
export interface Asset<Extra = Record<string, unknown>> {
  readonly uri: string;
  readonly [ASSET_BRAND]: true;
  /** Type only: the extra its events carry. Never set. */
  readonly extraType?: Extra;
}

/** One update of an asset: who made it, when, and what the producing task said about it. */
export interface AssetEvent<Extra = Record<string, unknown>> {
  /** Increases with every event of every asset. */
  readonly id: number;
  readonly uri: string;
  /** ISO time the producing task's success was recorded. */
  readonly at: string;
  readonly sourceDagId: string;
  readonly sourceRunId: string;
  readonly sourceTaskId: string;
  /** What the producing task set with `ctx.assets.setExtra`, or null. */
  readonly extra: Extra | null;
}

/** The longest asset URI: URIs become Redis keys and appear in every event. */
export const MAX_ASSET_URI_LENGTH = 1_000;
/** The largest extra, as JSON: it is copied into every consuming run's context. */
export const MAX_EXTRA_BYTES = 4_096;
/** Assets one task may update, or one schedule may name. */
export const MAX_ASSETS = 50;

/** Why an asset URI or name was refused; `code` says which rule. */
export class AssetUriError extends Error {
  override readonly name = 'AssetUriError';
  constructor(
    readonly code:
      | 'not-a-string'
      | 'too-long'
      | 'no-scheme'
      | 'whitespace'
      | 'credentials'
      | 'dot-segment'
      | 's3-bucket'
      | 'redshift-name',
    message: string,
    readonly uri: unknown,
  ) {
    super(message);
  }
}

type UriRule = [AssetUriError['code'], (uri: string) => string | undefined];

/** S3's bucket naming rules (general purpose buckets). */
const S3_BUCKET = /^(?!xn--)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const URI_RULES: readonly UriRule[] = [
  [
    'too-long',
    (uri) =>
      uri.length > MAX_ASSET_URI_LENGTH ? `is ${uri.length} characters; at most ${MAX_ASSET_URI_LENGTH}` : undefined,
  ],
  [
    'whitespace',
    // eslint-disable-next-line no-control-regex
    (uri) => (/[\s\u0000-\u001f\u007f]/.test(uri) ? 'contains whitespace or a control character' : undefined),
  ],
  [
    'no-scheme',
    (uri) =>
      /^[a-z][a-z0-9+.-]*:\/\/[^/]/.test(uri)
        ? undefined
        : 'needs a lower-case scheme and a host, like "s3://bucket/prefix/" or "redshift://cluster/db/schema/table"',
  ],
  [
    'credentials',
    (uri) =>
      /^[a-z][a-z0-9+.-]*:\/\/[^/]*@/.test(uri)
        ? 'carries credentials ("user:password@"); an asset URI names data, never a secret'
        : undefined,
  ],
  [
    'dot-segment',
    (uri) =>
      uri
        .slice(uri.indexOf('://') + 3)
        .split('/')
        .some((segment) => segment === '.' || segment === '..')
        ? 'has a "." or ".." path segment; name the data by its real path'
        : undefined,
  ],
  [
    's3-bucket',
    (uri) => {
      if (!uri.startsWith('s3://')) return undefined;
      const bucket = uri.slice(5).split('/')[0]!;
      return S3_BUCKET.test(bucket)
        ? undefined
        : `names the bucket "${bucket}", which is not an S3 bucket name (3 to 63 of a-z 0-9 . -)`;
    },
  ],
];

/** The first rule an asset URI breaks, or undefined. */
export function assetUriProblem(uri: unknown): AssetUriError | undefined {
  if (typeof uri !== 'string') return new AssetUriError('not-a-string', 'an asset URI must be a string', uri);
  for (const [code, rule] of URI_RULES) {
    const problem = rule(uri);
    if (problem) return new AssetUriError(code, `asset URI "${uri.slice(0, 200)}" ${problem}`, uri);
  }
  return undefined;
}

/** An asset URI, as zod sees it: the message names the rule it breaks. */
export const assetUriSchema = z.string().superRefine((uri, ctx) => {
  const problem = assetUriProblem(uri);
  if (problem) ctx.addIssue({ code: 'custom', message: problem.message, params: { rule: problem.code } });
});

export function isAsset(value: unknown): value is Asset<unknown> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[ASSET_BRAND] === true;
}

/** An asset as zod sees it: made by `asset()` (or a helper), with a valid URI. */
export const assetSchema = z.custom<Asset<unknown>>(
  (value) => isAsset(value) && assetUriProblem(value.uri) === undefined,
  'must be an asset made by asset(), s3PrefixAsset() or redshiftTableAsset()',
);

/**
 * An asset named by its URI. Throws `AssetUriError` on a URI that has no scheme, carries
 * credentials, has whitespace or `..` segments, or an S3 bucket that cannot exist.
 *
 * @example
 * const rawEvents = asset<{ partition: string }>('s3://lake-raw/events/');
 */
export function asset<Extra = Record<string, unknown>>(uri: string): Asset<Extra> {
  const problem = assetUriProblem(uri);
  if (problem) throw problem;
  return Object.freeze({ uri, [ASSET_BRAND]: true as const });
}

/**
 * An S3 prefix as an asset: `s3://<bucket>/<prefix>`. The prefix is a folder: a missing trailing
 * `/` is added, so `events` and `events/` are one asset.
 */
export function s3PrefixAsset<Extra = Record<string, unknown>>(location: {
  bucket: string;
  prefix: string;
}): Asset<Extra> {
  const prefix = location.prefix.replace(/^\/+/, '');
  return asset<Extra>(`s3://${location.bucket}/${prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`}`);
}

const REDSHIFT_NAME = /^[A-Za-z_][A-Za-z0-9_$]{0,126}$/;

/**
 * A Redshift table as an asset: `redshift://<cluster or workgroup>/<database>/<schema>/<table>`.
 * Names are lower-cased, as Redshift folds unquoted names, so `Orders` and `orders` are one asset.
 */
export function redshiftTableAsset<Extra = Record<string, unknown>>(table: {
  /** The provisioned cluster's identifier or the Serverless workgroup's name. */
  cluster: string;
  database: string;
  schema: string;
  table: string;
}): Asset<Extra> {
  for (const field of ['cluster', 'database', 'schema', 'table'] as const) {
    const value = table[field];
    const ok = field === 'cluster' ? /^[a-z0-9-]{1,63}$/i.test(value) : REDSHIFT_NAME.test(value);
    if (!ok) {
      throw new AssetUriError(
        'redshift-name',
        `redshiftTableAsset: ${field} "${String(value).slice(0, 200)}" is not a Redshift ${field} name`,
        value,
      );
    }
  }
  const parts = [table.cluster, table.database, table.schema, table.table].map((p) => p.toLowerCase());
  return asset<Extra>(`redshift://${parts.join('/')}`);
}

/** A condition over assets: each asset has new events, all of them, or any of them. */
export type AssetCondition = Asset<unknown> | AssetAll | AssetAny;
export interface AssetAll {
  readonly all: readonly AssetCondition[];
}
export interface AssetAny {
  readonly any: readonly AssetCondition[];
}

/** What a DAG's `schedule` takes besides cron: assets (all of them), or a condition. */
export type AssetSchedule = readonly Asset<unknown>[] | AssetCondition;

/** Runs when every condition has new events. */
export function allOf(...conditions: AssetCondition[]): AssetAll {
  return { all: conditions };
}

/** Runs when any condition has new events. */
export function anyOf(...conditions: AssetCondition[]): AssetAny {
  return { any: conditions };
}

/** A condition as JSON: what crosses the isolated import and what Redis-side code reads. */
export type AssetConditionJson = { uri: string } | { all: AssetConditionJson[] } | { any: AssetConditionJson[] };

/** Conditions nest at most this deep: deeper is a generated expression nobody can read. */
const MAX_DEPTH = 8;

/** Why a schedule is not an asset condition, or undefined: for the options' zod schema. */
export function assetScheduleProblem(value: unknown, depth = 0): string | undefined {
  if (depth > MAX_DEPTH) return `nests deeper than ${MAX_DEPTH} levels`;
  if (Array.isArray(value)) {
    if (value.length === 0) return 'is an empty list of assets';
    if (value.length > MAX_ASSETS) return `names ${value.length} assets; at most ${MAX_ASSETS}`;
    for (const item of value) {
      if (!isAsset(item)) return 'lists something that is not an asset (use asset(), s3PrefixAsset(), …)';
      const problem = assetUriProblem(item.uri);
      if (problem) return problem.message;
    }
    return undefined;
  }
  if (isAsset(value)) return assetUriProblem(value.uri)?.message;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value);
    const key = keys[0];
    if (keys.length !== 1 || (key !== 'all' && key !== 'any'))
      return 'is not an asset, a list of assets, allOf() or anyOf()';
    const items = (value as Record<string, unknown>)[key];
    if (!Array.isArray(items) || items.length === 0) return `has an empty ${key === 'all' ? 'allOf()' : 'anyOf()'}`;
    if (items.length > MAX_ASSETS) return `has ${items.length} conditions in one ${key}; at most ${MAX_ASSETS}`;
    for (const item of items) {
      const problem = assetScheduleProblem(Array.isArray(item) ? null : item, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  return 'is not an asset, a list of assets, allOf() or anyOf()';
}

/** The JSON form of a schedule already checked by `assetScheduleProblem`. */
export function conditionJson(schedule: AssetSchedule): AssetConditionJson {
  if (Array.isArray(schedule)) return { all: (schedule as readonly Asset<unknown>[]).map((a) => ({ uri: a.uri })) };
  if (isAsset(schedule)) return { uri: schedule.uri };
  if ('all' in schedule) return { all: schedule.all.map((c) => conditionJson(c)) };
  return { any: (schedule as AssetAny).any.map((c) => conditionJson(c)) };
}

/** True when `value` is an asset schedule rather than a cron string or null. */
export function isAssetSchedule(value: unknown): value is AssetSchedule {
  return value !== null && typeof value === 'object';
}

/** Every URI a condition names, each once, in order of appearance. */
export function conditionUris(condition: AssetConditionJson): string[] {
  const uris = new Set<string>();
  const walk = (c: AssetConditionJson): void => {
    if ('uri' in c) uris.add(c.uri);
    else for (const inner of 'all' in c ? c.all : c.any) walk(inner);
  };
  walk(condition);
  return [...uris];
}

/** Whether the condition holds when exactly the assets in `updated` have new events. */
export function isSatisfied(condition: AssetConditionJson, updated: ReadonlySet<string>): boolean {
  if ('uri' in condition) return updated.has(condition.uri);
  if ('all' in condition) return condition.all.every((c) => isSatisfied(c, updated));
  return condition.any.some((c) => isSatisfied(c, updated));
}

/** `s3://a/ AND (s3://b/ OR s3://c/)`: a condition as people read it. */
export function describeCondition(condition: AssetConditionJson, nested = false): string {
  if ('uri' in condition) return condition.uri;
  const [items, word] = 'all' in condition ? [condition.all, ' AND '] : [condition.any, ' OR '];
  if (items.length === 1) return describeCondition(items[0]!, nested);
  const text = items.map((c) => describeCondition(c, true)).join(word);
  return nested ? `(${text})` : text;
}

/**
 * The extra a task sets on an event, checked: a plain JSON object of at most `MAX_EXTRA_BYTES`.
 * Returns its JSON text, or throws an Error naming the asset and what is wrong.
 */
export function extraJson(uri: string, extra: unknown): string {
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) {
    throw new Error(`the extra of asset ${uri} must be a JSON object, like { partition: '2026-03-01' }`);
  }
  let json: string;
  try {
    json = JSON.stringify(extra);
  } catch (error) {
    throw new Error(`the extra of asset ${uri} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const bytes = new TextEncoder().encode(json).length;
  if (bytes > MAX_EXTRA_BYTES) {
    throw new Error(
      `the extra of asset ${uri} is ${bytes} bytes of JSON; at most ${MAX_EXTRA_BYTES} (put the data itself in the asset, not in its event)`,
    );
  }
  return json;
}

/** What a task sees of assets: the events that triggered its run, and the extras of its own events. */
export interface TaskAssets {
  /** The events that triggered this run, oldest first; empty unless the run is asset-triggered. */
  readonly triggeringEvents: readonly AssetEvent[];
  /** The triggering events of one asset, with its extra typed. */
  of<Extra>(asset: Asset<Extra>): readonly AssetEvent<Extra>[];
  /** The assets this task updates (its `outlets`). */
  readonly outlets: readonly Asset<unknown>[];
  /**
   * Sets the extra of the event recorded for one of this task's outlets when it succeeds (a
   * partition, a row count). A JSON object of at most 4 kB; the last call wins.
   */
  setExtra<Extra>(asset: Asset<Extra>, extra: Extra): void;
}

/** `ctx.assets` of one try; `extras` collects what `setExtra` set, by URI, as JSON text. */
export function taskAssets(
  triggeringEvents: readonly AssetEvent[],
  outlets: readonly Asset<unknown>[],
  extras: Map<string, string>,
): TaskAssets {
  return {
    triggeringEvents,
    outlets,
    of: <Extra>(wanted: Asset<Extra>) =>
      triggeringEvents.filter((event) => event.uri === wanted.uri) as readonly AssetEvent<Extra>[],
    setExtra(target, extra) {
      if (!outlets.some((outlet) => outlet.uri === target.uri)) {
        throw new Error(`setExtra: ${target.uri} is not an outlet of this task; add it to the task's outlets`);
      }
      extras.set(target.uri, extraJson(target.uri, extra));
    },
  };
}
