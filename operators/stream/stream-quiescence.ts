/**
 * `streamQuiescence()`: a sensor that waits until the data a stream lands (Firehose objects under a
 * prefix, or anything an `observe` function can count) has stopped arriving, so downstream tasks
 * never run on half a day. It pokes in reschedule mode: between looks it is a delayed job, and its
 * state (last observation, last change, listing cursor) survives worker restarts.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk, s3SyncModule } from '../aws-sdk.ts';
import { z } from 'zod';
import {
  durationMs,
  failNow,
  resolveTemplated,
  type Duration,
  type Sensor,
  type TaskContext,
  type Templated,
} from '../../runner/index.ts';
import { parseOptions, templated } from '../redshift/options.ts';
import { parseS3Uri } from '../../runner/s3/s3-uri.ts';
import { observeS3Prefix, type S3Cursor, type S3ObserveOptions } from './s3-observer.ts';
import {
  observe as decide,
  pollStrategies,
  type Observation,
  type PollStrategy,
  type QuiescenceState,
} from './quiescence.ts';

export type QuiescenceSource =
  | ({ s3: Templated<string> } & S3ObserveOptions)
  /** Any count: a DynamoDB counter, Kafka consumer lag, Kinesis metrics. */
  | { observe: (ctx: TaskContext) => Promise<Observation> };

export interface StreamQuiescenceOptions {
  source: QuiescenceSource;
  /** Quiet after this long without a new, changed or removed object. */
  window: Duration;
  /** @defaultValue 1 */
  minObjects?: number;
  expectedCount?: number;
  /**
   * An S3 manifest (`{ "entries": [{ "url": "s3://…" }] }`, as COPY and UNLOAD write them): not
   * quiet until every object it lists exists. A missing manifest counts as nothing listed yet.
   */
  manifest?: Templated<string>;
  /** @defaultValue 'allow' */
  deletes?: 'allow' | 'fail';
  /** How long to wait between looks. @defaultValue adaptive: at last change + window, between 5 s and one window */
  poll?:
    | { strategy: 'adaptive'; min?: Duration; max?: Duration }
    | { strategy: 'fixed' | 'divided' | 'decaying'; every: Duration };
  /** Give up after this long since the first poke. */
  timeout: Duration;
  /** On timeout, end skipped instead of failed. @defaultValue false */
  softFail?: boolean;
}

export interface QuiescenceOutput {
  count: number;
  bytes: number;
  newestKey: string | null;
  newestAt: string | null;
  polls: number;
}

/** The extra of the asset events a quiescence sensor with outlets records when the stream goes quiet. */
export interface QuiescenceEventExtra {
  /** The S3 prefix watched (resolved for the run), or null for an `observe` source. */
  source: string | null;
  count: number;
  bytes: number;
  newestKey: string | null;
}

export interface QuiescenceSensorState {
  quiescence: QuiescenceState;
  cursor?: S3Cursor;
}

const duration = z.string();
const schema = z.looseObject({
  source: z.union([
    z.looseObject({
      s3: templated(z.string()),
      timeOrderedKeys: z.boolean().optional(),
      fullListEvery: z.int().min(1).optional(),
    }),
    z.looseObject({ observe: z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function') }),
  ]),
  window: duration,
  minObjects: z.int().min(0).optional(),
  expectedCount: z.int().min(0).optional(),
  deletes: z.enum(['allow', 'fail']).optional(),
  timeout: duration,
  softFail: z.boolean().optional(),
});

/**
 * The objects a manifest lists that do not exist (yet); every entry when the manifest itself is
 * missing. One listing per folder the manifest names (an UNLOAD writes one), not a HEAD per object.
 */
async function missingFromManifest(s3: Pick<S3Client, 'send'>, uri: string): Promise<string[]> {
  const { bucket, prefix } = parseS3Uri(uri);
  let entries: { url: string }[];
  try {
    const response = await s3.send(
      new (await s3Sdk()).GetObjectCommand({ Bucket: bucket, Key: prefix.replace(/\/$/, '') }),
    );
    entries = (JSON.parse(await response.Body!.transformToString()) as { entries?: { url: string }[] }).entries ?? [];
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return [uri];
    throw error;
  }
  const folders = new Map<string, Promise<Set<string>>>();
  const existing = (folder: string) => {
    let keys = folders.get(folder);
    if (!keys) {
      const location = parseS3Uri(folder);
      keys = s3SyncModule()
        .then(({ listS3 }) => listS3(s3, location))
        .then((objects) => new Set(objects.map((o) => `s3://${location.bucket}/${o.key}`)));
      folders.set(folder, keys);
    }
    return keys;
  };
  const missing: string[] = [];
  for (const { url } of entries) {
    const match = /^(s3:\/\/[^/]+\/(?:.*\/)?)[^/]+$/.exec(url);
    if (!match) throw failNow(`manifest ${uri} lists ${JSON.stringify(url)}, which is not an s3:// object URI`);
    if (!(await existing(match[1]!)).has(url)) missing.push(url);
  }
  return missing;
}

export function strategyOf(options: StreamQuiescenceOptions): PollStrategy {
  const poll = options.poll ?? { strategy: 'adaptive' };
  if (poll.strategy === 'adaptive') {
    return pollStrategies.adaptive(durationMs(options.window), {
      minMs: durationMs(poll.min ?? '5s'),
      maxMs: poll.max ? durationMs(poll.max) : durationMs(options.window),
    });
  }
  return pollStrategies[poll.strategy](durationMs(poll.every));
}

/**
 * @example
 * streamQuiescence({
 *   source: { s3: (run) => `s3://lake-raw/events/dt=${run.ds}/`, timeOrderedKeys: true },
 *   window: '10m', minObjects: 1, timeout: '6h',
 * })
 */
export function streamQuiescence(options: StreamQuiescenceOptions): Sensor<QuiescenceOutput, QuiescenceSensorState> {
  parseOptions(schema, options, 'streamQuiescence');
  const rule = {
    windowMs: durationMs(options.window),
    ...(options.minObjects !== undefined ? { minObjects: options.minObjects } : {}),
    ...(options.expectedCount !== undefined ? { expectedCount: options.expectedCount } : {}),
    ...(options.deletes ? { deletes: options.deletes } : {}),
  };
  const strategy = strategyOf(options);
  return {
    kind: 'stream-quiescence',
    config: {
      window: options.window,
      minObjects: options.minObjects,
      timeout: options.timeout,
      source: 's3' in options.source ? 's3' : 'function',
    },
    sensor: { timeoutMs: durationMs(options.timeout), softFail: options.softFail ?? false },
    async poke(ctx) {
      const source = options.source;
      let observation: Observation;
      let cursor: S3Cursor | undefined;
      let verdict;
      if ('s3' in source) {
        const uri = resolveTemplated(source.s3, ctx);
        let result = await observeS3Prefix(ctx.aws.s3, uri, ctx.state?.cursor, source);
        verdict = decide(ctx.state?.quiescence, result.observation, Date.now(), rule);
        if (verdict.kind === 'quiet' && result.incremental) {
          // An incremental poll cannot see overwrites or deletions: confirm with a full list.
          result = await observeS3Prefix(ctx.aws.s3, uri, ctx.state?.cursor, { ...source, fullList: true });
          verdict = decide(ctx.state?.quiescence, result.observation, Date.now(), rule);
        }
        observation = result.observation;
        cursor = result.cursor;
      } else {
        observation = await source.observe(ctx);
        verdict = decide(ctx.state?.quiescence, observation, Date.now(), rule);
      }
      const now = Date.now();
      if (verdict.kind === 'deleted') throw failNow(`stream source changed under the sensor: ${verdict.reason}`);
      if (verdict.kind === 'quiet' && options.manifest !== undefined) {
        const missing = await missingFromManifest(ctx.aws.s3, resolveTemplated(options.manifest, ctx));
        if (missing.length > 0) {
          const wait = strategy(verdict.state, now);
          ctx.log.info(
            `quiet, but the manifest lists ${missing.length} object(s) not there yet (first ${missing[0]}); looking again in ${wait} ms`,
          );
          return {
            done: false,
            pokeAgainInMs: wait,
            state: { quiescence: verdict.state, ...(cursor ? { cursor } : {}) },
          };
        }
      }
      if (verdict.kind === 'quiet') {
        ctx.log.info(`quiet: ${observation.count} objects, unchanged for ${now - verdict.state.lastChangeAt} ms`);
        // With outlets, the event it records on success says what went quiet: a consumer of a
        // Firehose root prefix learns which partition is complete.
        const extra: QuiescenceEventExtra = {
          source: 's3' in source ? resolveTemplated(source.s3, ctx) : null,
          count: observation.count,
          bytes: observation.bytes,
          newestKey: observation.newestKey ?? null,
        };
        for (const outlet of ctx.assets.outlets) ctx.assets.setExtra(outlet, extra);
        return {
          done: true,
          value: {
            count: observation.count,
            bytes: observation.bytes,
            newestKey: observation.newestKey ?? null,
            newestAt: observation.newestAt ? new Date(observation.newestAt).toISOString() : null,
            polls: verdict.state.polls,
          },
        };
      }
      const wait = strategy(verdict.state, now);
      ctx.log.info(`${verdict.reason}; looking again in ${wait} ms`);
      return { done: false, pokeAgainInMs: wait, state: { quiescence: verdict.state, ...(cursor ? { cursor } : {}) } };
    },
  };
}
