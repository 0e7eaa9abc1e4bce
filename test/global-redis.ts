/** One redis-server for the whole test run, on a free loopback port; each test uses its own key prefix. */
import type { TestProject } from 'vitest/node';
import { ensureRedisServer, startRedisServer } from '../runner/redis/redis-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const binary = ensureRedisServer((message) => console.log(message));
  const server = await startRedisServer({ binary });
  project.provide('redisUrl', server.url);
  return () => server.stop();
}
