/**
 * Redis connections from a URL: `redis://[user:password@]host:port[/db]` or `rediss://` for TLS.
 * Workers need `maxRetriesPerRequest: null` (BullMQ's blocking commands must not give up), and every
 * connection retries with capped backoff so that a Redis restart or a 30 s outage is survived
 * without restarting Runway.
 */
import { Redis, type RedisOptions } from 'ioredis';

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

/** Parses and checks a Redis URL; the message never repeats the password. */
export function parseRedisUrl(url: string): RedisOptions {
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
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: { servername: parsed.hostname } } : {}),
  };
}

/** The URL with any password replaced by `***`, for logs and errors. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

export function connectRedis(url: string, options: RedisOptions = {}): Redis {
  const client = new Redis({
    ...parseRedisUrl(url),
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 5_000),
    ...options,
  });
  return client;
}
