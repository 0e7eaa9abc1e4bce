/**
 * How Runway reads Redis's errors, on errors a real redis-server gives: out of memory (alone and
 * inside a refused transaction), a wrong type, and no answer at all. Which ones are transient
 * decides whether a try whose state could not be written runs again or fails.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../runner/redis/connect.ts';
import {
  describeRedisError,
  isRedisOutOfMemory,
  isRedisReplyError,
  isTransientRedisError,
} from '../runner/redis/redis-errors.ts';
import { freePort, startRedisServer, type RedisServer } from '../runner/redis/redis-server.ts';

let server: RedisServer;
let redis: RedisClient;
beforeAll(async () => {
  server = await startRedisServer();
  redis = connectRedis(server.url);
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

const failure = (work: Promise<unknown>) =>
  work.then(
    () => new Error('no error'),
    (error: unknown) => error,
  );

describe('Redis errors', () => {
  it('reads out of memory, alone or inside a refused transaction, as transient, and says what to do', async () => {
    const key = `{errors}:${randomUUID()}`;
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', '1');
    try {
      const alone = await failure(redis.set(key, 'x'));
      const inTransaction = await failure(redis.multi().set(key, 'x').incr(`${key}:n`).exec());
      for (const error of [alone, inTransaction]) {
        expect(isRedisReplyError(error)).toBe(true);
        expect(isRedisOutOfMemory(error)).toBe(true);
        expect(isTransientRedisError(error)).toBe(true);
        expect(describeRedisError(error)).toMatch(
          /^Redis is out of memory and refuses writes \(maxmemory reached, noeviction\): free memory or raise maxmemory \[OOM command not allowed when used memory > 'maxmemory'\.\]$/,
        );
      }
      expect((inTransaction as Error).message).toMatch(/^EXECABORT/);
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
  });

  it('reads a wrong type as lasting, and a connection that is gone as transient', async () => {
    const key = `{errors}:${randomUUID()}`;
    await redis.set(key, 'a string');
    const wrongType = await failure(redis.hset(key, 'field', 'x'));
    expect(isRedisReplyError(wrongType)).toBe(true);
    expect(isTransientRedisError(wrongType)).toBe(false);
    expect(describeRedisError(wrongType)).toMatch(/^WRONGTYPE /);

    const away = connectRedis(`redis://127.0.0.1:${await freePort()}`, {
      retryStrategy: () => null,
      lazyConnect: true,
    });
    away.on('error', () => undefined);
    try {
      const gone = await failure(away.set(key, 'x'));
      expect(isRedisReplyError(gone)).toBe(false);
      expect(isTransientRedisError(gone)).toBe(true);
    } finally {
      away.disconnect();
    }
    expect(isTransientRedisError(new TypeError('x is undefined'))).toBe(false);
  });
});
