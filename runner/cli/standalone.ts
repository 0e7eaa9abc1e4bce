/**
 * `runway standalone` (`npm start`): everything on one machine, in one process: a private
 * redis-server (loopback only, data in .runway/redis, hz 100) unless REDIS_URL is given, the
 * scheduler and a worker over `dags/`, which is watched: added, changed and removed files apply
 * without a restart. Where it listens is written to `.runway/standalone.json` for the other verbs.
 * Ctrl-C stops all of it, redis-server included.
 */
import { mkdir } from 'node:fs/promises';
import { lastInterval, nextRunDueAt } from '../core/data-interval.ts';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { HeldDag, LoadedDag } from '../loader/dag-registry.ts';
import { Engine } from '../state/engine.ts';
import { ensureRedisServer, startRedisServer, type RedisServer } from '../redis/redis-server.ts';
import { Scheduler } from '../services/scheduler.ts';
import { startWorker } from '../services/worker.ts';
import { table } from './table.ts';
import type { CliIo } from './io.ts';
import { consoleLogger, openDags, openRedis } from './runtime.ts';
import { writeStandaloneAddress } from './standalone-address.ts';
import { lazyAwsClients } from '../aws/clients.ts';
import { LOCAL_S3_CREDENTIALS, startLocalS3Server } from './local-s3.ts';
import type { Logger } from '../core/operator.ts';
import { startWebServer, type WebServer, type WebServerOptions } from '../web/server.ts';

export interface StandaloneOptions {
  dags: string;
  redisUrl?: string;
  redisPort?: number;
  dataDir: string;
  concurrency: number;
  prefix: string;
  /** @defaultValue 30_000 */
  statusEveryMs?: number;
  /** The web UI's port; a free one if it is taken. @defaultValue 8080 */
  webPort?: number;
  /** Where service and task log lines go. @defaultValue the console logger in its default format */
  log?: Logger;
}

/** Operator kinds that call AWS beyond S3 (standalone's S3 is local). */
const AWS_OPERATORS = /^(redshift|glue)-/;

/** The bucket the local demo pipeline writes to. */
export const DEMO_BUCKET = 'runway-demo';

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
  // Without credentials an AWS DAG could only fail and retry: hold it back and say why. The folder
  // is watched, so a DAG added later is held the same way.
  const awsReady = hasAwsCredentials();
  const log = options.log ?? consoleLogger;
  const needsAws = (dag: LoadedDag) => dag.summary.tasks.some((t) => AWS_OPERATORS.test(t.operator));
  const dags = await openDags(
    { dags: options.dags },
    {
      service: true,
      log,
      hold: (dag) => (!awsReady && needsAws(dag) ? 'needs AWS credentials' : undefined),
    },
  );
  for (const p of dags.problems) io.err(`${p.file}${p.line ? `:${p.line}` : ''}: ${p.message} (not run)`);
  const { registry, catalog } = dags;

  let server: RedisServer | undefined;
  let url = options.redisUrl ?? process.env.REDIS_URL;
  if (!url) {
    const dir = `${options.dataDir}/redis`;
    try {
      await mkdir(dir, { recursive: true });
      server = await startRedisServer({
        binary: ensureRedisServer((m) => io.err(m)),
        dir,
        persistence: true,
        ...(options.redisPort ? { port: options.redisPort } : {}),
      });
    } catch (error) {
      await dags.close(); // the folder's watcher would keep the process alive
      throw error;
    }
    url = server.url;
    io.out(`redis-server on ${url} (data in ${dir}, hz 100)`);
  }
  const s3Dir = `${options.dataDir}/s3`;
  const localS3 = await startLocalS3Server(s3Dir, [DEMO_BUCKET]);
  io.out(`local S3 on ${localS3.endpoint} (data in ${s3Dir}, bucket ${DEMO_BUCKET})`);
  const redis = await openRedis(url, true, log);
  const connection = await openRedis(url, true, log);
  const engine = new Engine({ redis, registry, prefix: options.prefix, log });
  const scheduler = new Scheduler(engine);
  const aws = lazyAwsClients({ s3Endpoint: localS3.endpoint, s3Credentials: LOCAL_S3_CREDENTIALS });
  const worker = startWorker(engine, connection, { concurrency: options.concurrency, echo: log, aws });
  // A reload shows at once: workers' heartbeat and open pages.
  dags.onChange(() => {
    worker.presence.beat();
    void engine.store.noteChange().catch(() => undefined);
  });
  scheduler.start();
  const web = await startStandaloneUi(engine, options.webPort ?? 8080, {
    problems: () => catalog.problems(),
    held: () => catalog.held(),
  });
  io.out(`web UI on ${web.url}`);
  const removeAddress = await writeStandaloneAddress(options.dataDir, {
    redisUrl: url,
    webUrl: web.url,
    pid: process.pid,
    prefix: options.prefix,
    startedAt: new Date().toISOString(),
  });

  const printStatus = async () => io.out(table(...(await statusTable(engine, registry.list(), catalog.held()))));
  await printStatus();
  if (catalog.held().length > 0) {
    io.out(
      'DAGs that call Redshift or Glue stay paused: set AWS_PROFILE or AWS_ACCESS_KEY_ID (or configure ~/.aws) to run them.',
    );
  }
  io.out(
    `Runway is running: scheduler and worker in this process; ${options.dags} is watched (a new or changed file applies without a restart); status every 30 s. Ctrl-C stops everything.`,
  );
  const status = setInterval(() => void printStatus().catch(() => undefined), options.statusEveryMs ?? 30_000);

  await stop;
  clearInterval(status);
  io.out('stopping: scheduler, worker, local S3, then redis-server');
  // What the stop waits for, said should it take long (a forced exit follows at 30 s).
  let stage = 'the DAG folder';
  const slow = setTimeout(() => log.warn(`still stopping after 20 s: waiting for ${stage}`), 20_000).unref();
  await removeAddress();
  await dags.close();
  stage = 'the web UI';
  await web.close();
  stage = 'the scheduler';
  await scheduler.stop();
  stage = 'the worker';
  await worker.close(10_000);
  stage = 'the engine (queues)';
  await engine.close();
  connection.disconnect();
  redis.disconnect();
  stage = 'the local S3';
  await localS3.close();
  stage = 'redis-server';
  await server?.stop();
  clearTimeout(slow);
}

/** The UI on its usual port, or on a free one when that is taken (a second standalone, say). */
async function startStandaloneUi(
  engine: Engine,
  port: number,
  catalog: Pick<WebServerOptions, 'problems' | 'held'>,
): Promise<WebServer> {
  try {
    return await startWebServer(engine, { port, ...catalog });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    return startWebServer(engine, { port: 0, ...catalog });
  }
}

/** DAG, schedule, state, its last run, running task instances, next run due. */
async function statusTable(
  engine: Engine,
  running: readonly LoadedDag[],
  held: readonly HeldDag[],
): Promise<[string[], string[][]]> {
  const heldRows = held.map((h) => [
    h.loaded.summary.dagId,
    h.loaded.summary.schedule ?? 'manual',
    `paused: ${h.reason}`,
    '-',
    '-',
    '-',
  ]);
  const rows = await Promise.all(
    running.map(async (dag) => {
      const dagId = dag.summary.dagId;
      const schedule = dag.summary.assetSchedule ? 'assets' : (dag.summary.schedule ?? 'manual');
      const paused = await engine.store.isPaused(dagId, dag.summary.pausedOnCreation);
      const kept = await engine.store.lastScheduledInterval(dagId);
      const next = nextRunDueAt(dag.schedule, lastInterval(dag.schedule, kept.start, kept.end), new Date());
      const last = (await engine.store.listRuns(dagId, 1))[0];
      const running: string[] = [];
      for (const runId of await engine.store.activeRunIds(dagId)) {
        const snapshot = await engine.store.snapshot(dagId, runId);
        for (const [taskId, ti] of Object.entries(snapshot)) {
          if (ti.state === 'running' || ti.state === 'up_for_reschedule') running.push(`${taskId} (${ti.state})`);
        }
      }
      return [
        dagId,
        schedule,
        paused ? 'paused' : 'active',
        last ? `${last.state} ${last.runId}` : '-',
        running.join(', ') || '-',
        next === undefined ? '-' : next.getTime() <= Date.now() ? 'now' : next.toISOString(),
      ];
    }),
  );
  return [
    ['dag_id', 'schedule', 'state', 'last run', 'running', 'next run due'],
    [...rows, ...heldRows],
  ];
}
