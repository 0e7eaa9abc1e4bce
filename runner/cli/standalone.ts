/**
 * `runway standalone` (`npm start`): everything on one machine, in one process: a private
 * redis-server (loopback only, data in .runway/redis, hz 100) unless REDIS_URL is given, the
 * scheduler and a worker over `dags/`. Ctrl-C stops all of it, redis-server included.
 */
import { mkdir } from 'node:fs/promises';
import { nextRunDueAt } from '../data-interval.ts';
import { loadDagRegistry } from '../dag-registry.ts';
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

export async function runStandalone(options: StandaloneOptions, io: CliIo, stop: Promise<unknown>): Promise<void> {
  const { registry, problems } = await loadDagRegistry(options.dags);
  for (const p of problems) io.err(`${p.file}${p.line ? `:${p.line}` : ''}: ${p.message} (not run)`);

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
    registry.list().map(async (loaded) => {
      const paused = await engine.store.isPaused(loaded.summary.dagId, loaded.summary.pausedOnCreation);
      const next = nextRunDueAt(loaded.schedule, await engine.store.lastScheduled(loaded.summary.dagId));
      return [
        loaded.summary.dagId,
        loaded.summary.schedule ?? 'manual',
        paused ? 'paused' : 'active',
        next?.toISOString() ?? '-',
      ];
    }),
  );
  io.out(table(['dag_id', 'schedule', 'state', 'next run due'], rows));
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
