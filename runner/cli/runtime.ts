/** What runner commands share: a Redis connection, the loaded DAGs and an engine over them. */
import type { Redis } from 'ioredis';
import { loadDagRegistry, type DagRegistry } from '../dag-registry.ts';
import { Engine } from '../engine.ts';
import type { Logger } from '../operator.ts';
import type { Problem } from '../problem.ts';
import { connectRedis, redact } from '../redis/connect.ts';
import { RedisSetupError } from '../redis/redis-server.ts';

export interface RuntimeFlags {
  dags: string;
  redisUrl?: string;
  prefix: string;
}

export interface Runtime {
  redis: Redis;
  engine: Engine;
  registry: DagRegistry;
  problems: Problem[];
  redisUrl: string;
  close(): Promise<void>;
}

export const consoleLogger: Logger = {
  info: (m, f) => console.log(`${new Date().toISOString()} INFO ${m}${f ? ` ${JSON.stringify(f)}` : ''}`),
  warn: (m, f) => console.warn(`${new Date().toISOString()} WARN ${m}${f ? ` ${JSON.stringify(f)}` : ''}`),
  error: (m, f) => console.error(`${new Date().toISOString()} ERROR ${m}${f ? ` ${JSON.stringify(f)}` : ''}`),
};

export function redisUrlOf(flags: { redisUrl?: string }): string {
  return flags.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/**
 * Connects to Redis. A one-shot command fails at once with a clear message when Redis cannot be
 * reached; a service (scheduler, worker) keeps retrying with backoff and logs each failure.
 */
export async function openRedis(url: string, service: boolean, log: Logger = consoleLogger): Promise<Redis> {
  const redis = connectRedis(url, service ? { lazyConnect: true } : { lazyConnect: true, retryStrategy: () => null });
  let lastError = '';
  redis.on('error', (error: Error) => {
    if (service && error.message !== lastError) log.warn(`Redis at ${redact(url)}: ${error.message}; retrying`);
    lastError = error.message;
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new RedisSetupError(`cannot reach Redis at ${redact(url)}: ${(error as Error).message || lastError}`);
  }
  return redis;
}

export async function openRuntime(
  flags: RuntimeFlags,
  options: { service?: boolean; log?: Logger } = {},
): Promise<Runtime> {
  const redisUrl = redisUrlOf(flags);
  const redis = await openRedis(redisUrl, options.service ?? false, options.log);
  const { registry, problems } = await loadDagRegistry(flags.dags);
  const engine = new Engine({ redis, registry, prefix: flags.prefix, ...(options.log ? { log: options.log } : {}) });
  return {
    redis,
    engine,
    registry,
    problems,
    redisUrl,
    async close() {
      await engine.close();
      redis.disconnect();
    },
  };
}
