/**
 * One Redis for the whole test run; each test uses its own key prefix. Locally and in `.ci/run` a
 * redis-server is started on a free loopback port; GitHub Actions gives a Redis service container
 * instead, through RUNWAY_TEST_REDIS_URL.
 */
import type { TestProject } from 'vitest/node';
import { ensureRedisServer, startRedisServer } from '../runner/redis/redis-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const external = process.env.RUNWAY_TEST_REDIS_URL;
  if (external) {
    project.provide('redisUrl', external);
    return;
  }
  const binary = ensureRedisServer((message) => console.log(message));
  const server = await startRedisServer({ binary });
  project.provide('redisUrl', server.url);
  return () => server.stop();
}
