/**
 * `glueCrawler()`: runs a Glue crawler so the catalog reflects what landed before this task. If a
 * crawl is already running it waits for it and then starts a fresh one (or only waits), and it
 * reads the result of its own crawl, not an earlier one, by comparing LastCrawl start times.
 */
import type { Crawler, GlueClient } from '@aws-sdk/client-glue';
import { glueSdk } from '../aws-sdk.ts';
import { z } from 'zod';
import {
  durationMs,
  TaskError,
  type Duration,
  type Logger,
  type Operator,
  type RunInfo,
  type Sensor,
} from '../../runner/index.ts';
import { parseOptions } from '../redshift/options.ts';

type GlueApi = Pick<GlueClient, 'send'>;

export interface GlueCrawlerConfig {
  role: string;
  databaseName: string;
  s3Targets: { path: string; exclusions?: string[] }[];
  tablePrefix?: string;
  schemaChangePolicy?: {
    updateBehavior?: 'LOG' | 'UPDATE_IN_DATABASE';
    deleteBehavior?: 'LOG' | 'DELETE_FROM_DATABASE' | 'DEPRECATE_IN_DATABASE';
  };
  recrawlPolicy?: 'CRAWL_EVERYTHING' | 'CRAWL_NEW_FOLDERS_ONLY' | 'CRAWL_EVENT_MODE';
}

export interface GlueCrawlerOptions {
  name: string;
  /** Create the crawler if missing, update it when it differs. Without it, the crawler must exist. */
  config?: GlueCrawlerConfig;
  /** A crawl already running: wait for it and start a fresh one, or only wait. @defaultValue 'wait-then-start' */
  whenRunning?: 'wait-then-start' | 'wait-only';
  /** @defaultValue '15s' */
  pollEvery?: Duration;
  /** Wait between looks as a delayed job, holding no worker slot; fail and stop our crawl after `timeout`. */
  reschedule?: { timeout: Duration };
}

/** What a crawler task in reschedule mode keeps between pokes. */
export interface CrawlerSensorState {
  /** Whether the crawl being waited for is this task's own. */
  ours: boolean;
  /** LastCrawl start time (ms) seen before this task's crawl. */
  before: number;
}

export interface GlueCrawlerOutput {
  crawler: string;
  status: string;
  tablesCreated: number | null;
  tablesUpdated: number | null;
  tablesDeleted: number | null;
}

const schema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,255}$/, 'must be a Glue crawler name'),
  config: z
    .strictObject({
      role: z.string().min(1),
      databaseName: z.string().min(1),
      s3Targets: z
        .array(z.strictObject({ path: z.string().startsWith('s3://'), exclusions: z.array(z.string()).optional() }))
        .min(1),
      tablePrefix: z.string().optional(),
      schemaChangePolicy: z
        .strictObject({
          updateBehavior: z.enum(['LOG', 'UPDATE_IN_DATABASE']).optional(),
          deleteBehavior: z.enum(['LOG', 'DELETE_FROM_DATABASE', 'DEPRECATE_IN_DATABASE']).optional(),
        })
        .optional(),
      recrawlPolicy: z.enum(['CRAWL_EVERYTHING', 'CRAWL_NEW_FOLDERS_ONLY', 'CRAWL_EVENT_MODE']).optional(),
    })
    .optional(),
  whenRunning: z.enum(['wait-then-start', 'wait-only']).optional(),
  pollEvery: z.string().optional(),
  reschedule: z.strictObject({ timeout: z.string() }).optional(),
});

/** The Create/UpdateCrawler input for a config. */
export function crawlerInput(name: string, config: GlueCrawlerConfig) {
  return {
    Name: name,
    Role: config.role,
    DatabaseName: config.databaseName,
    Targets: {
      S3Targets: config.s3Targets.map((t) => ({ Path: t.path, ...(t.exclusions ? { Exclusions: t.exclusions } : {}) })),
    },
    ...(config.tablePrefix !== undefined ? { TablePrefix: config.tablePrefix } : {}),
    ...(config.schemaChangePolicy
      ? {
          SchemaChangePolicy: {
            ...(config.schemaChangePolicy.updateBehavior
              ? { UpdateBehavior: config.schemaChangePolicy.updateBehavior }
              : {}),
            ...(config.schemaChangePolicy.deleteBehavior
              ? { DeleteBehavior: config.schemaChangePolicy.deleteBehavior }
              : {}),
          },
        }
      : {}),
    ...(config.recrawlPolicy ? { RecrawlPolicy: { RecrawlBehavior: config.recrawlPolicy } } : {}),
  };
}

function differs(current: Crawler, wanted: ReturnType<typeof crawlerInput>): boolean {
  const have = {
    Role: current.Role,
    DatabaseName: current.DatabaseName,
    Targets: (current.Targets?.S3Targets ?? []).map((t) => ({
      Path: t.Path,
      Exclusions: t.Exclusions?.length ? t.Exclusions : undefined,
    })),
    TablePrefix: current.TablePrefix ?? undefined,
  };
  const want = {
    Role: wanted.Role,
    DatabaseName: wanted.DatabaseName,
    Targets: wanted.Targets.S3Targets.map((t) => ({
      Path: t.Path,
      Exclusions: 'Exclusions' in t ? t.Exclusions : undefined,
    })),
    TablePrefix: wanted.TablePrefix ?? undefined,
  };
  const roleMatches = have.Role === want.Role || (have.Role?.endsWith(`/${want.Role}`) ?? false);
  const policy = (p: object | undefined) => JSON.stringify(p ?? {});
  return (
    !roleMatches ||
    JSON.stringify({ ...have, Role: 0 }) !== JSON.stringify({ ...want, Role: 0 }) ||
    ('SchemaChangePolicy' in wanted && policy(current.SchemaChangePolicy) !== policy(wanted.SchemaChangePolicy)) ||
    ('RecrawlPolicy' in wanted && current.RecrawlPolicy?.RecrawlBehavior !== wanted.RecrawlPolicy?.RecrawlBehavior)
  );
}

const isRunningError = (error: unknown) =>
  error instanceof Error &&
  (error.name === 'CrawlerRunningException' ||
    (error.name === 'InvalidInputException' && /running|already started/i.test(error.message)));

/**
 * @example
 * glueCrawler({
 *   name: 'lake_curated',
 *   config: { role: 'glue-crawler', databaseName: 'curated', s3Targets: [{ path: 's3://lake-curated/orders_daily/' }] },
 * })
 */
export function glueCrawler(
  options: GlueCrawlerOptions,
): (Operator<GlueCrawlerOutput> | Sensor<GlueCrawlerOutput, CrawlerSensorState>) & { render(run: RunInfo): unknown } {
  parseOptions(schema, options, 'glueCrawler');
  const pollMs = durationMs(options.pollEvery ?? '15s');
  const common = {
    kind: 'glue-crawler',
    config: {
      name: options.name,
      whenRunning: options.whenRunning ?? 'wait-then-start',
      reschedule: options.reschedule,
    },
    render: () => ({
      api: [
        'GetCrawler',
        ...(options.config ? ['CreateCrawler or UpdateCrawler'] : []),
        'StartCrawler',
        'GetCrawlerMetrics',
      ],
      params: {
        Name: options.name,
        ...(options.config ? { crawler: crawlerInput(options.name, options.config) } : {}),
      },
    }),
  };
  if (options.reschedule) {
    return { ...common, ...crawlerSensor(options, pollMs, durationMs(options.reschedule.timeout)) };
  }
  return {
    ...common,
    async run(ctx) {
      const glue = ctx.aws.glue;
      const log = ctx.log;
      let crawler = await getCrawler(glue, options.name);
      if (options.config) crawler = await ensureCrawler(glue, options.name, options.config, crawler, log);
      if (!crawler)
        throw new TaskError('fail_now', `Glue crawler ${options.name} does not exist; give a config to create it`, {
          retryable: false,
        });

      let startedHere = false;
      let before = crawler.LastCrawl?.StartTime?.getTime() ?? 0;
      const stopIfOurs = async () => {
        if (!startedHere) return;
        try {
          await glue.send(new (await glueSdk()).StopCrawlerCommand({ Name: options.name }));
          log.warn(`stopped Glue crawler ${options.name}`);
        } catch (error) {
          log.warn(`could not stop Glue crawler ${options.name}: ${(error as Error).message}`);
        }
      };
      const wait = () => waitUntilReady(glue, options.name, pollMs, ctx.signal, log, stopIfOurs);

      for (let attempt = 0; !startedHere; attempt++) {
        try {
          await glue.send(new (await glueSdk()).StartCrawlerCommand({ Name: options.name }));
          startedHere = true;
          log.info(`started Glue crawler ${options.name}`);
        } catch (error) {
          if (!isRunningError(error) || attempt >= 5) throw error;
          log.info(`Glue crawler ${options.name} is already running: waiting for that crawl`);
          const other = await wait();
          if ((options.whenRunning ?? 'wait-then-start') === 'wait-only')
            return result(glue, options.name, other, before);
          before = other.LastCrawl?.StartTime?.getTime() ?? before;
        }
      }
      return result(glue, options.name, await wait(), before);
    },
  };
}

/** Reschedule mode: each poke is one look; between pokes the task is a delayed job. */
function crawlerSensor(
  options: GlueCrawlerOptions,
  pollMs: number,
  timeoutMs: number,
): Pick<Sensor<GlueCrawlerOutput, CrawlerSensorState>, 'sensor' | 'poke' | 'onTimeout'> {
  const again = (state: CrawlerSensorState) => ({ done: false as const, pokeAgainInMs: pollMs, state });
  const start = async (glue: GlueApi, before: number, log: Logger) => {
    try {
      await glue.send(new (await glueSdk()).StartCrawlerCommand({ Name: options.name }));
      log.info(`started Glue crawler ${options.name}; waiting in reschedule mode`);
      return again({ ours: true, before });
    } catch (error) {
      if (!isRunningError(error)) throw error;
      log.info(`Glue crawler ${options.name} is already running: waiting for that crawl`);
      return again({ ours: false, before });
    }
  };
  return {
    sensor: { timeoutMs, softFail: false },
    async poke(ctx) {
      const glue = ctx.aws.glue;
      if (!ctx.state) {
        let crawler = await getCrawler(glue, options.name);
        if (options.config) crawler = await ensureCrawler(glue, options.name, options.config, crawler, ctx.log);
        if (!crawler)
          throw new TaskError('fail_now', `Glue crawler ${options.name} does not exist; give a config to create it`, {
            retryable: false,
          });
        return start(glue, crawler.LastCrawl?.StartTime?.getTime() ?? 0, ctx.log);
      }
      const crawler = (await getCrawler(glue, options.name)) ?? {};
      if (crawler.State !== 'READY') return again(ctx.state);
      if (ctx.state.ours || options.whenRunning === 'wait-only') {
        return { done: true, value: await result(glue, options.name, crawler, ctx.state.before) };
      }
      return start(glue, crawler.LastCrawl?.StartTime?.getTime() ?? ctx.state.before, ctx.log);
    },
    async onTimeout(ctx) {
      if (!ctx.state?.ours) return;
      try {
        await ctx.aws.glue.send(new (await glueSdk()).StopCrawlerCommand({ Name: options.name }));
        ctx.log.warn(`stopped Glue crawler ${options.name}`);
      } catch (error) {
        ctx.log.warn(`could not stop Glue crawler ${options.name}: ${(error as Error).message}`);
      }
    },
  };
}

async function getCrawler(glue: GlueApi, name: string): Promise<Crawler | undefined> {
  try {
    return (await glue.send(new (await glueSdk()).GetCrawlerCommand({ Name: name }))).Crawler;
  } catch (error) {
    if ((error as Error).name === 'EntityNotFoundException') return undefined;
    throw error;
  }
}

async function ensureCrawler(
  glue: GlueApi,
  name: string,
  config: GlueCrawlerConfig,
  current: Crawler | undefined,
  log: Logger,
): Promise<Crawler> {
  const wanted = crawlerInput(name, config);
  if (!current) {
    await glue.send(new (await glueSdk()).CreateCrawlerCommand(wanted));
    log.info(`created Glue crawler ${name}`);
    return (await getCrawler(glue, name)) ?? { Name: name };
  }
  if (differs(current, wanted)) {
    await glue.send(new (await glueSdk()).UpdateCrawlerCommand(wanted));
    log.info(`updated Glue crawler ${name}: its configuration differed`);
  }
  return current;
}

async function waitUntilReady(
  glue: GlueApi,
  name: string,
  pollMs: number,
  signal: AbortSignal,
  log: Logger,
  onAbort: () => Promise<void>,
): Promise<Crawler> {
  let last = '';
  for (;;) {
    if (signal.aborted) {
      await onAbort();
      throw signal.reason instanceof Error ? signal.reason : new TaskError('timeout', 'aborted');
    }
    const crawler = (await getCrawler(glue, name)) ?? {};
    if (crawler.State !== last) log.info(`Glue crawler ${name}: ${crawler.State}`);
    last = crawler.State ?? '';
    if (crawler.State === 'READY') return crawler;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, pollMs);
      signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
}

async function result(glue: GlueApi, name: string, crawler: Crawler, startedAfter: number): Promise<GlueCrawlerOutput> {
  const last = crawler.LastCrawl;
  if (!last || (last.StartTime?.getTime() ?? 0) <= startedAfter) {
    throw new TaskError(
      'failed',
      `Glue crawler ${name} is READY but shows no crawl newer than the one before this task`,
    );
  }
  if (last.Status === 'FAILED')
    throw new TaskError('failed', `Glue crawler ${name} failed: ${last.ErrorMessage ?? 'no message'}`);
  if (last.Status === 'CANCELLED') throw new TaskError('failed', `Glue crawler ${name} was cancelled`);
  const metrics = (await glue.send(new (await glueSdk()).GetCrawlerMetricsCommand({ CrawlerNameList: [name] })))
    .CrawlerMetricsList?.[0];
  return {
    crawler: name,
    status: last.Status ?? 'UNKNOWN',
    tablesCreated: metrics?.TablesCreated ?? null,
    tablesUpdated: metrics?.TablesUpdated ?? null,
    tablesDeleted: metrics?.TablesDeleted ?? null,
  };
}
