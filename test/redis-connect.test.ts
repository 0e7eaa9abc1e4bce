import { describe, expect, it } from 'vitest';
import { parseRedisTarget, parseRedisUrl, redact } from '../runner/redis/connect.ts';

describe('parseRedisUrl', () => {
  it('reads host, port, ACL user and password, database, and TLS for rediss://', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380/2')).toEqual({ host: '127.0.0.1', port: 6380, db: 2 });
    expect(parseRedisUrl('rediss://runway:p%40ss@cache.example.com:6380')).toEqual({
      host: 'cache.example.com',
      port: 6380,
      username: 'runway',
      password: 'p@ss',
      tls: { servername: 'cache.example.com' },
    });
  });

  it('reads ?cluster=true as a Redis Cluster node, and refuses what a cluster cannot be', () => {
    expect(parseRedisTarget('rediss://runway:pw@cfg.cache.example.com:6379?cluster=true')).toEqual({
      cluster: true,
      options: {
        host: 'cfg.cache.example.com',
        port: 6379,
        username: 'runway',
        password: 'pw',
        tls: { servername: 'cfg.cache.example.com' },
      },
    });
    expect(parseRedisTarget('redis://127.0.0.1:6379/0?cluster=false').cluster).toBe(false);
    expect(() => parseRedisUrl('redis://h:6379?cluster=yes')).toThrow(
      'REDIS_URL ?cluster= must be true or false, not "yes"',
    );
    expect(() => parseRedisUrl('redis://h:6379?clustr=true')).toThrow(
      'REDIS_URL has an unknown parameter "clustr"; the only one is ?cluster=true',
    );
    expect(() => parseRedisUrl('redis://h:6379/2?cluster=true')).toThrow(
      'REDIS_URL database 2: a Redis Cluster has only database 0',
    );
  });

  it('rejects a malformed URL without repeating its password', () => {
    expect(() => parseRedisUrl('redis//host')).toThrow('is not a URL');
    expect(() => parseRedisUrl('http://host:6379')).toThrow(
      'REDIS_URL must start with redis:// or rediss://, not http://',
    );
    expect(() => parseRedisUrl('redis://host:6379/zero')).toThrow('REDIS_URL database "zero" must be a number');
    expect(() => parseRedisUrl('redis://:hunter2@host:port')).toThrow(
      /^REDIS_URL "redis:\/\/:\*\*\*@host:port" is not a URL/,
    );
    expect(redact('rediss://user:hunter2@host:6380')).toBe('rediss://user:***@host:6380');
  });
});
