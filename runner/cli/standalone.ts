/**
 * `runway standalone` (`npm start`): everything on one machine, in one process: a private
 * redis-server (loopback only, data in .runway/redis, hz 100) unless REDIS_URL is given, the
 * scheduler and a worker over `dags/`. Ctrl-C stops all of it, redis-server included.
 */
import { mkdir } from 'node:fs/promises';
import { nextRunDueAt } from '../data-interval.ts';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DagRegistry, loadDagRegistry, type LoadedDag } from '../dag-registry.ts';
import { Engine } from '../engine.ts';
import { ensureRedisServer, startRedisServer, type RedisServer } from '../redis/redis-server.ts';
import { Scheduler } from '../scheduler.ts';
import { startWorker } from '../worker.ts';
import { table } from './dags-commands.ts';
import type { CliIo } from './io.ts';
import { consoleLogger, openRedis } from './runtime.ts';

export interface StandaloneOptions {
  dags: string;
  redisUrl?: string;
  redisPort?: number;
  dataDir: string;
  concurrency: number;
  prefix: string;
}

/** Operator kinds that call AWS. */
const AWS_OPERATORS = /^(redshift|glue|s3)-/;

/** Whether the AWS SDK's default credential chain has anything to find here. */
export function hasAwsCredentials(env: NodeJS.ProcessEnv = process.env, home = homedir()): boolean {
  return Boolean(
    env.AWS_ACCESS_KEY_ID ||
    env.AWS_PROFILE ||
    env.AWS_WEB_IDENTITY_TOKEN_FILE ||
    env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ||
    env.AWS_CONTAINER_CREDENTIALS_FULL_URI ||
    existsSync(join(home, '.aws', 'credentials')) ||
    existsSync(join(home, '.aws', 'config')),
  );
}

export async function runStandalone(options: StandaloneOptions, io: CliIo, stop: Promise<unknown>): Promise<void> {
  const loaded = await loadDagRegistry(options.dags);
  for (const p of loaded.problems) io.err(`${p.file}${p.line ? `:${p.line}` : ''}: ${p.message} (not run)`);
  // Without credentials an AWS DAG could only fail and retry: hold it back and say why.
  const awsReady = hasAwsCredentials();
  const needsAws = (dag: LoadedDag) => dag.summary.tasks.some((t) => AWS_OPERATORS.test(t.operator));
  const held = awsReady ? [] : loaded.registry.list().filter(needsAws);
  const registry = new DagRegistry(loaded.registry.list().filter((d) => !held.includes(d)));

  let server: RedisServer | undefined;
  let url = options.redisUrl ?? process.env.REDIS_URL;
  if (!url) {
    const dir = `${options.dataDir}/redis`;
    await mkdir(dir, { recursive: true });
    server = await startRedisServer({
      binary: ensureRedisServer((m) => io.err(m)),
      dir,
      persistence: true,
      ...(options.redisPort ? { port: options.redisPort } : {}),
    });
    url = server.url;
    io.out(`redis-server on ${url} (data in ${dir}, hz 100)`);
  }
  const redis = await openRedis(url, true);
  const connection = await openRedis(url, true);
  const engine = new Engine({ redis, registry, prefix: options.prefix, log: consoleLogger });
  const scheduler = new Scheduler(engine);
  const worker = startWorker(engine, connection, { concurrency: options.concurrency, echo: consoleLogger });
  scheduler.start();

  const rows = await Promise.all(
    [...registry.list(), ...held].map(async (loaded) => {
      if (held.includes(loaded)) {
        return [loaded.summary.dagId, loaded.summary.schedule ?? 'manual', 'paused: needs AWS credentials', '-'];
      }
      const paused = await engine.store.isPaused(loaded.summary.dagId, loaded.summary.pausedOnCreation);
      const next = nextRunDueAt(loaded.schedule, await engine.store.lastScheduled(loaded.summary.dagId));
      return [
        loaded.summary.dagId,
        loaded.summary.schedule ?? 'manual',
        paused ? 'paused' : 'active',
        next === undefined ? '-' : next.getTime() <= Date.now() ? 'now' : next.toISOString(),
      ];
    }),
  );
  io.out(table(['dag_id', 'schedule', 'state', 'next run due'], rows));
  if (held.length > 0) {
    io.out('DAGs that call AWS stay paused: set AWS_PROFILE or AWS_ACCESS_KEY_ID (or configure ~/.aws) to run them.');
  }
  io.out('Runway is running: scheduler and worker in this process. Ctrl-C stops everything.');

  await stop;
  io.out('stopping: scheduler, worker, then redis-server');
  await scheduler.stop();
  await worker.close(10_000);
  await engine.close();
  connection.disconnect();
  redis.disconnect();
  await server?.stop();
}
