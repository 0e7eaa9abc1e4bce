/**
 * `runway standalone` (`npm start`): everything on one machine, in one process: a private
 * redis-server (loopback only, data in .runway/redis, hz 100) unless REDIS_URL is given, the
 * scheduler and a worker over `dags/`. Ctrl-C stops all of it, redis-server included.
 */
import { mkdir } from 'node:fs/promises';
import { nextRunDueAt } from '../core/data-interval.ts';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DagRegistry, loadDagRegistry, type LoadedDag } from '../loader/dag-registry.ts';
import { Engine } from '../state/engine.ts';
import { ensureRedisServer, startRedisServer, type RedisServer } from '../redis/redis-server.ts';
import { Scheduler } from '../services/scheduler.ts';
import { startWorker } from '../services/worker.ts';
import { table } from './dags-commands.ts';
import type { CliIo } from './io.ts';
import { consoleLogger, openRedis } from './runtime.ts';
import { lazyAwsClients } from '../aws/clients.ts';
import { LOCAL_S3_CREDENTIALS, startLocalS3Server } from './local-s3.ts';
import type { Problem } from '../core/problem.ts';
import type { Logger } from '../core/operator.ts';
import { startWebServer, type WebServer } from '../web/server.ts';

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
  const s3Dir = `${options.dataDir}/s3`;
  const localS3 = await startLocalS3Server(s3Dir, [DEMO_BUCKET]);
  io.out(`local S3 on ${localS3.endpoint} (data in ${s3Dir}, bucket ${DEMO_BUCKET})`);
  const log = options.log ?? consoleLogger;
  const redis = await openRedis(url, true, log);
  const connection = await openRedis(url, true, log);
  const engine = new Engine({ redis, registry, prefix: options.prefix, log });
  const scheduler = new Scheduler(engine);
  const aws = lazyAwsClients({ s3Endpoint: localS3.endpoint, s3Credentials: LOCAL_S3_CREDENTIALS });
  const worker = startWorker(engine, connection, { concurrency: options.concurrency, echo: log, aws });
  scheduler.start();
  const web = await startStandaloneUi(engine, options.webPort ?? 8080, loaded.problems);
  io.out(`web UI on ${web.url}`);

  const printStatus = async () => io.out(table(...(await statusTable(engine, registry, held))));
  await printStatus();
  if (held.length > 0) {
    io.out(
      'DAGs that call Redshift or Glue stay paused: set AWS_PROFILE or AWS_ACCESS_KEY_ID (or configure ~/.aws) to run them.',
    );
  }
  io.out('Runway is running: scheduler and worker in this process; status every 30 s. Ctrl-C stops everything.');
  const status = setInterval(() => void printStatus().catch(() => undefined), options.statusEveryMs ?? 30_000);

  await stop;
  clearInterval(status);
  io.out('stopping: scheduler, worker, local S3, then redis-server');
  await web.close();
  await scheduler.stop();
  await worker.close(10_000);
  await engine.close();
  connection.disconnect();
  redis.disconnect();
  await localS3.close();
  await server?.stop();
}

/** The UI on its usual port, or on a free one when that is taken (a second standalone, say). */
async function startStandaloneUi(engine: Engine, port: number, problems: readonly Problem[]): Promise<WebServer> {
  try {
    return await startWebServer(engine, { port, problems: () => problems });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    return startWebServer(engine, { port: 0, problems: () => problems });
  }
}

/** DAG, schedule, state, its last run, running task instances, next run due. */
async function statusTable(
  engine: Engine,
  registry: DagRegistry,
  held: readonly LoadedDag[],
): Promise<[string[], string[][]]> {
  const rows = await Promise.all(
    [...registry.list(), ...held].map(async (dag) => {
      const dagId = dag.summary.dagId;
      const schedule = dag.summary.schedule ?? 'manual';
      if (held.includes(dag)) return [dagId, schedule, 'paused: needs AWS credentials', '-', '-', '-'];
      const paused = await engine.store.isPaused(dagId, dag.summary.pausedOnCreation);
      const next = nextRunDueAt(dag.schedule, await engine.store.lastScheduled(dagId));
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
  return [['dag_id', 'schedule', 'state', 'last run', 'running', 'next run due'], rows];
}
