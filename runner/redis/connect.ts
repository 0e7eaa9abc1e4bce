/**
 * Redis connections from a URL: `redis://[user:password@]host:port[/db]` or `rediss://` for TLS.
 * Workers need `maxRetriesPerRequest: null` (BullMQ's blocking commands must not give up), and every
 * connection retries with capped backoff so that a Redis restart or a 30 s outage is survived
 * without restarting Runway.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** A Redis server, or a Redis Cluster (`?cluster=true`): Runway and BullMQ use either alike. */
export type RedisClient = Redis | Cluster;

/**
 * An 'error' listener that logs a message once, until a different one arrives: a Redis outage is
 * one line per cause in the log, not one per retry (and never an unhandled error dump).
 */
export function logDistinctErrors(log: (message: string) => void, what: string): (error: Error) => void {
  let last = '';
  return (error) => {
    if (error.message === last) return;
    last = error.message;
    log(`${what}: ${error.message}`);
  };
}

export class RedisUrlError extends Error {
  override readonly name = 'RedisUrlError';
}

/** A Redis URL read: connection options, and whether it names a node of a Redis Cluster. */
export interface RedisTarget {
  options: RedisOptions;
  cluster: boolean;
}

/** Parses and checks a Redis URL; the message never repeats the password. */
export function parseRedisUrl(url: string): RedisOptions {
  return parseRedisTarget(url).options;
}

/**
 * `?cluster=true` marks a Redis Cluster (ElastiCache or MemoryDB in cluster mode): the URL names any
 * node, the client finds the others. It is the only query parameter there is.
 */
export function parseRedisTarget(url: string): RedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RedisUrlError(
      `REDIS_URL "${redact(url)}" is not a URL; expected redis://host:6379 or rediss://host:6380`,
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new RedisUrlError(`REDIS_URL must start with redis:// or rediss://, not ${parsed.protocol}//`);
  }
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new RedisUrlError(`REDIS_URL database "${db}" must be a number`);
  for (const name of parsed.searchParams.keys()) {
    if (name !== 'cluster')
      throw new RedisUrlError(`REDIS_URL has an unknown parameter "${name}"; the only one is ?cluster=true`);
  }
  const flag = parsed.searchParams.get('cluster');
  if (flag !== null && flag !== 'true' && flag !== 'false') {
    throw new RedisUrlError(`REDIS_URL ?cluster= must be true or false, not "${flag}"`);
  }
  const cluster = flag === 'true';
  if (cluster && db !== '' && db !== '0') {
    throw new RedisUrlError(`REDIS_URL database ${db}: a Redis Cluster has only database 0`);
  }
  return {
    cluster,
    options: {
      host: parsed.hostname || '127.0.0.1',
      port: parsed.port ? Number(parsed.port) : 6379,
      ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
      ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
      ...(db && !cluster ? { db: Number(db) } : {}),
      ...(parsed.protocol === 'rediss:' ? { tls: { servername: parsed.hostname } } : {}),
    },
  };
}

/** The URL with any password replaced by `***`, for logs and errors. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

const backoff = (times: number) => Math.min(100 * 2 ** Math.min(times, 6), 5_000);

export function connectRedis(url: string, options: RedisOptions = {}): RedisClient {
  const target = parseRedisTarget(url);
  if (!target.cluster) {
    return new Redis({ ...target.options, maxRetriesPerRequest: null, retryStrategy: backoff, ...options });
  }
  const { host, port, tls, ...auth } = target.options;
  const { retryStrategy, lazyConnect, enableAutoPipelining, ...nodeOptions } = options;
  return new Cluster([{ host: host!, port: port! }], {
    clusterRetryStrategy: retryStrategy === undefined ? backoff : retryStrategy,
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
    ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }),
    // Nodes are reached by the names the cluster gives, so TLS checks each node's own name.
    dnsLookup: (address, callback) => callback(null, address),
    redisOptions: { ...auth, ...(tls ? { tls: {} } : {}), maxRetriesPerRequest: null, ...nodeOptions },
  });
}
