/**
 * `runway dags test <dag>`: one DAG run in this process, with no scheduler, printing each task
 * instance's state as it changes. It runs through the same engine and worker code as production,
 * on a private redis-server (or REDIS_URL) under its own key prefix, so no deployed worker takes
 * its tasks.
 */
import { Engine } from '../state/engine.ts';
import { DagRegistry, loadDagRegistry, prepareDag } from '../loader/dag-registry.ts';
import { Dag } from '../core/dag.ts';
import { isRunFinished, type DagRunState } from '../core/model.ts';
import { noSuchTask, triggerDag, OperationError } from '../state/operations.ts';
import { ensureRedisServer, startRedisServer, type RedisServer } from '../redis/redis-server.ts';
import { startWorker } from '../services/worker.ts';
import type { CliIo } from './io.ts';
import { openRedis, type RuntimeFlags } from './runtime.ts';

export async function runDagTest(
  dagId: string,
  flags: RuntimeFlags & { logicalDate?: Date },
  io: CliIo,
): Promise<DagRunState> {
  const { registry, problems } = await loadDagRegistry(flags.dags);
  if (!registry.get(dagId)) {
    const why = problems.find((p) => p.dagId === dagId)?.message;
    throw new OperationError(`no DAG "${dagId}" can run${why ? `: ${why}` : ' (see `runway dags list`)'}`);
  }
  return runInProcess(registry, dagId, flags, io);
}

/**
 * `runway tasks test <dag> <task>`: that task alone, in this process, without its upstream tasks
 * (their outputs are absent), through the same execution code.
 */
export async function runTaskTest(
  dagId: string,
  taskId: string,
  flags: RuntimeFlags & { logicalDate?: Date },
  io: CliIo,
): Promise<DagRunState> {
  const { registry } = await loadDagRegistry(flags.dags);
  const loaded = registry.get(dagId);
  if (!loaded) throw new OperationError(`no DAG "${dagId}" can run (see \`runway dags list\`)`);
  const task = loaded.tasks.get(taskId);
  if (!task) throw noSuchTask(dagId, loaded.tasks.keys(), taskId);
  const alone = new Dag(loaded.dag.options, [{ ...task, spec: { ...task.spec, upstream: [] } }]);
  return runInProcess(new DagRegistry([prepareDag(alone, loaded.file)]), dagId, flags, io);
}

async function runInProcess(
  registry: DagRegistry,
  dagId: string,
  flags: RuntimeFlags & { logicalDate?: Date },
  io: CliIo,
): Promise<DagRunState> {
  let server: RedisServer | undefined;
  let url = flags.redisUrl ?? process.env.REDIS_URL;
  if (!url) {
    server = await startRedisServer({ binary: ensureRedisServer((m) => io.err(m)) });
    url = server.url;
  }
  const redis = await openRedis(url, false);
  const connection = await openRedis(url, true);
  const log = {
    info: (m: string) => io.out(`    | ${m}`),
    warn: (m: string) => io.out(`    | WARN ${m}`),
    error: (m: string) => io.out(`    | ERROR ${m}`),
  };
  const engine = new Engine({ redis, registry, prefix: `{runway-dags-test}` });
  const worker = startWorker(engine, connection, { concurrency: 4, echo: log });
  try {
    const run = await triggerDag(engine, dagId, flags.logicalDate ? { logicalDate: flags.logicalDate } : {});
    io.out(`${dagId} ${run.runId}`);
    const printed = new Map<string, string>();
    for (;;) {
      const snapshot = await engine.store.snapshot(dagId, run.runId);
      for (const [taskId, ti] of Object.entries(snapshot)) {
        const line = `${ti.state}${ti.try > 0 ? ` (try ${ti.try})` : ''}${ti.error ? `: ${ti.error}` : ''}`;
        if (printed.get(taskId) !== line && ti.state !== 'none') {
          printed.set(taskId, line);
          io.out(`  ${new Date().toISOString().slice(11, 23)}  ${taskId}  ${line}`);
        }
      }
      const current = await engine.store.getRun(dagId, run.runId);
      if (current && isRunFinished(current.state)) {
        io.out(`run ${current.state}`);
        return current.state;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await worker.close(5_000);
    await engine.close();
    connection.disconnect();
    redis.disconnect();
    await server?.stop();
  }
}
