/** What runner commands share: a Redis connection, the loaded DAGs and an engine over them. */
import { makeS3Client } from '../aws/s3-client.ts';
import { DagRegistry, loadDagRegistry } from '../loader/dag-registry.ts';
import { DagSourceError, logRefresh, S3DagSource } from '../deploy/s3-dag-source.ts';
import { Engine } from '../state/engine.ts';
import { createConsoleLogger } from './console-log.ts';
import type { Logger } from '../core/operator.ts';
import type { Problem } from '../core/problem.ts';
import { connectRedis, redact, type RedisClient } from '../redis/connect.ts';
import { RedisSetupError } from '../redis/redis-server.ts';

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
  problems: Problem[];
  redisUrl: string;
  close(): Promise<void>;
}

/** The console logger in its default format (pretty on a terminal, else JSON lines). */
export const consoleLogger: Logger = createConsoleLogger();

export function redisUrlOf(flags: { redisUrl?: string }): string {
  return flags.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
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
  options: { service?: boolean; log?: Logger } = {},
): Promise<Runtime> {
  const redisUrl = redisUrlOf(flags);
  const redis = await openRedis(redisUrl, options.service ?? false, options.log);
  let dags: LoadedDags;
  try {
    dags = await openDags(flags, options);
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  const { registry, problems } = dags;
  const engine = new Engine({ redis, registry, prefix: flags.prefix, ...(options.log ? { log: options.log } : {}) });
  return {
    redis,
    engine,
    registry,
    problems,
    redisUrl,
    async close() {
      await dags.close();
      await engine.close();
      redis.disconnect();
    },
  };
}

interface LoadedDags {
  registry: DagRegistry;
  problems: Problem[];
  close(): Promise<void>;
}

/**
 * The DAGs of a local folder, or of a deployment in S3; a service keeps polling a deployment and
 * hot-reloads what changes.
 */
export async function openDags(
  flags: Pick<RuntimeFlags, 'dags' | 's3Endpoint' | 'reloadInterval'>,
  options: { service?: boolean; log?: Logger } = {},
): Promise<LoadedDags> {
  if (!flags.dags.startsWith('s3://')) {
    const { registry, problems } = await loadDagRegistry(flags.dags);
    return { registry, problems, close: async () => {} };
  }
  const log = options.log ?? consoleLogger;
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
