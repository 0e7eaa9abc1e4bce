/** What runner commands share: a Redis connection, the loaded DAGs and an engine over them. */
import { makeS3Client } from '../aws/s3-client.ts';
import { relative } from 'node:path';
import { DagRegistry, loadDagRegistry, type DagCatalog, type LoadedDag } from '../loader/dag-registry.ts';
import { DagSourceError, logRefresh, S3DagSource } from '../deploy/s3-dag-source.ts';
import { LocalDagSource } from '../deploy/local-dag-source.ts';
import { Engine } from '../state/engine.ts';
import { createConsoleLogger } from './console-log.ts';
import type { Logger } from '../core/operator.ts';
import type { Problem } from '../core/problem.ts';
import { connectRedis, redact, type RedisClient } from '../redis/connect.ts';
import { RedisSetupError } from '../redis/redis-server.ts';
import { findStandaloneAddress } from './standalone-address.ts';
import { DEFAULT_PREFIX } from './runtime-defaults.ts';

export interface RuntimeFlags {
  /** A DAG folder, or a deployment: s3://bucket/prefix. */
  dags: string;
  /** The S3 endpoint for an s3:// `dags` (a local S3). */
  s3Endpoint?: string;
  /** Seconds between polls of a deployment's manifest, in services. */
  reloadInterval?: number;
  redisUrl?: string;
  prefix: string;
}

export interface Runtime {
  redis: RedisClient;
  engine: Engine;
  registry: DagRegistry;
  /** The problems found at start. */
  problems: Problem[];
  /** The problems and held DAGs now: a service on a local folder keeps reloading it. */
  catalog: DagCatalog;
  /** Calls `listener` after each reload that changed the DAGs. */
  onDagsChange(listener: () => void): void;
  redisUrl: string;
  close(): Promise<void>;
}

/** The console logger in its default format (pretty on a terminal, else JSON lines). */
export const consoleLogger: Logger = createConsoleLogger();

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** The Redis a verb uses, and where that choice came from. */
export interface RedisChoice {
  url: string;
  /** The key prefix: `--prefix`, or standalone's own when the flag was left at its default. */
  prefix: string;
  from: 'flag' | 'env' | 'standalone' | 'default';
  /** For `standalone`: the line that says so, for stderr. */
  note?: string;
}

/** `--redis-url`, else `$REDIS_URL`, else a running standalone's (`.runway/standalone.json`), else the default. */
export function chooseRedis(flags: { redisUrl?: string; prefix?: string }, cwd = process.cwd()): RedisChoice {
  const prefix = flags.prefix ?? DEFAULT_PREFIX;
  if (flags.redisUrl) return { url: flags.redisUrl, prefix, from: 'flag' };
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, prefix, from: 'env' };
  const found = findStandaloneAddress(cwd);
  if (found) {
    const { redisUrl, pid } = found.address;
    const where = relative(cwd, found.path) || found.path;
    // A standalone started with --prefix keeps its runs there: a verb left at the default follows it.
    const chosen = prefix === DEFAULT_PREFIX ? found.address.prefix : prefix;
    return {
      url: redisUrl,
      prefix: chosen,
      from: 'standalone',
      note: `runway: using the Redis of runway standalone (pid ${pid}) at ${redact(redisUrl)}${chosen === DEFAULT_PREFIX ? '' : `, prefix ${chosen}`}, from ${where}`,
    };
  }
  return { url: DEFAULT_REDIS_URL, prefix, from: 'default' };
}

/**
 * Connects to Redis. A one-shot command fails at once with a clear message when Redis cannot be
 * reached; a service (scheduler, worker) keeps retrying with backoff and logs each failure.
 */
export async function openRedis(url: string, service: boolean, log: Logger = consoleLogger): Promise<RedisClient> {
  const redis = connectRedis(url, service ? { lazyConnect: true } : { lazyConnect: true, retryStrategy: () => null });
  let lastError = '';
  redis.on('error', (error: Error) => {
    if (service && error.message !== lastError) log.warn(`Redis at ${redact(url)}: ${error.message}; retrying`);
    lastError = error.message;
  });
  redis.on('ready', () => {
    if (service && lastError) log.info(`Redis at ${redact(url)}: connected again`);
    lastError = '';
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    // ioredis rejects with "Connection is closed."; the error event before it says why.
    const cause = lastError || (error as Error).message;
    const hint = /certificate/i.test(cause) ? ' (a private CA? point NODE_EXTRA_CA_CERTS at its certificate)' : '';
    throw new RedisSetupError(`cannot reach Redis at ${redact(url)}: ${cause}${hint}`);
  }
  return redis;
}

export async function openRuntime(
  flags: RuntimeFlags,
  options: { service?: boolean; log?: Logger; announce?: (line: string) => void } = {},
): Promise<Runtime> {
  const choice = chooseRedis(flags);
  if (choice.note) (options.announce ?? ((line: string) => console.error(line)))(choice.note);
  const redisUrl = choice.url;
  let redis: RedisClient;
  try {
    redis = await openRedis(redisUrl, options.service ?? false, options.log);
  } catch (error) {
    if (choice.from !== 'default' || !(error instanceof RedisSetupError)) throw error;
    throw new RedisSetupError(
      `${error.message}; no runway standalone is running here (no live .runway/standalone.json): start one with \`npm start\`, or give --redis-url or REDIS_URL`,
    );
  }
  let dags: LoadedDags;
  try {
    dags = await openDags(flags, options);
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  const { registry, problems } = dags;
  const engine = new Engine({ redis, registry, prefix: choice.prefix, ...(options.log ? { log: options.log } : {}) });
  // Open pages refresh when the DAGs change, as they do when runs change.
  dags.onChange(() => void engine.store.noteChange().catch(() => undefined));
  return {
    redis,
    engine,
    registry,
    problems,
    catalog: dags.catalog,
    onDagsChange: (listener) => dags.onChange(listener),
    redisUrl,
    async close() {
      await dags.close();
      await engine.close();
      redis.disconnect();
    },
  };
}

export interface LoadedDags {
  registry: DagRegistry;
  problems: Problem[];
  catalog: DagCatalog;
  onChange(listener: () => void): void;
  close(): Promise<void>;
}

/**
 * The DAGs of a local folder, or of a deployment in S3. A service watches a local folder and
 * polls a deployment, and hot-reloads what changes; a one-shot command reads them once.
 */
export async function openDags(
  flags: Pick<RuntimeFlags, 'dags' | 's3Endpoint' | 'reloadInterval'>,
  options: { service?: boolean; log?: Logger; hold?: (loaded: LoadedDag) => string | undefined } = {},
): Promise<LoadedDags> {
  const log = options.log ?? consoleLogger;
  if (!flags.dags.startsWith('s3://') && !options.service) {
    const { registry, problems } = await loadDagRegistry(flags.dags);
    return {
      registry,
      problems,
      catalog: { problems: () => problems, held: () => [] },
      onChange: () => {},
      close: async () => {},
    };
  }
  if (!flags.dags.startsWith('s3://')) {
    const registry = new DagRegistry();
    const source = new LocalDagSource(flags.dags, registry, { log, ...(options.hold ? { hold: options.hold } : {}) });
    const result = await source.refresh();
    source.start();
    return {
      registry,
      problems: result.problems,
      catalog: source,
      onChange: (listener) => source.onChange(listener),
      close: () => source.stop(),
    };
  }
  const s3 = makeS3Client(flags.s3Endpoint ? { endpoint: flags.s3Endpoint } : {});
  const registry = new DagRegistry();
  const source = new S3DagSource(s3, flags.dags, registry, { log });
  try {
    const result = await source.refresh();
    if (options.service) {
      logRefresh(log, flags.dags, result);
      source.start((flags.reloadInterval ?? 30) * 1_000);
    }
    return {
      registry,
      problems: result.problems,
      catalog: { problems: () => result.problems, held: () => [] },
      onChange: () => {},
      async close() {
        await source.stop();
        s3.destroy();
      },
    };
  } catch (error) {
    s3.destroy();
    throw new DagSourceError(`cannot read the DAGs of ${flags.dags}: ${(error as Error).message}`);
  }
}
