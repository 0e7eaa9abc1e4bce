/**
 * `runway dags test <dag>` and `runway tasks test <dag> <task>`: one DAG run, or one task, in this
 * process, with no scheduler, printing each task instance's state as it changes. They run through
 * the same engine and worker code as production, on a private redis-server (or REDIS_URL) under
 * their own key prefix, so no deployed worker takes their tasks.
 */
import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { Redis } from 'ioredis';
import { Engine } from '../state/engine.ts';
import { DagRegistry, loadDagRegistry, prepareDag, type LoadedDag } from '../loader/dag-registry.ts';
import { Dag, type TaskDefinition } from '../core/dag.ts';
import { isRunFinished, type DagRunState, type TaskInstanceRecord } from '../core/model.ts';
import type { Logger, Operator } from '../core/operator.ts';
import type { Problem } from '../core/problem.ts';
import { failNow, skip } from '../core/task-error.ts';
import { topologicalOrder } from '../core/run-advance.ts';
import { noSuchTask, triggerDag, OperationError } from '../state/operations.ts';
import { RunStore } from '../state/run-store.ts';
import { ensureRedisServer, startRedisServer, type RedisServer } from '../redis/redis-server.ts';
import { redact, type RedisClient } from '../redis/connect.ts';
import { startWorker } from '../services/worker.ts';
import type { CliIo } from './io.ts';
import { chooseRedis, openRedis, type RuntimeFlags } from './runtime.ts';
import {
  latestSuccessfulRun,
  readUpstreamFile,
  readUpstreamOfRun,
  type UpstreamData,
  type UpstreamResult,
} from './upstream-source.ts';

export async function runDagTest(
  dagId: string,
  flags: RuntimeFlags & { logicalDate?: Date },
  io: CliIo,
): Promise<DagRunState> {
  const { registry, problems } = await loadDagRegistry(flags.dags);
  if (!registry.get(dagId)) throw notRunnable(dagId, problems);
  return runInProcess(registry, dagId, flags, io);
}

export interface TaskTestFlags extends RuntimeFlags {
  logicalDate?: Date;
  /** Take the upstream outputs from this run (in the Redis of `--redis-url`, under `--prefix`). */
  fromRun?: string;
  /** Take the upstream outputs from this JSON file: `{ "<upstream task>": <its output>, … }`. */
  upstream?: string;
  /** Keep the task's retries; by default a test is one try, so a failure shows at once. */
  retry?: boolean;
}

/**
 * `runway tasks test <dag> <task>`: that task, in this process, through the same execution code,
 * with its upstream outputs taken from a file, a named run, or the latest successful run. With none
 * of these to be had, its upstream tasks run first, so the task always sees real outputs.
 */
export async function runTaskTest(
  dagId: string,
  taskId: string,
  flags: TaskTestFlags,
  io: CliIo,
): Promise<DagRunState> {
  const { registry, problems } = await loadDagRegistry(flags.dags);
  const loaded = registry.get(dagId);
  if (!loaded) throw notRunnable(dagId, problems);
  const task = loaded.tasks.get(taskId);
  if (!task) throw noSuchTask(dagId, loaded.tasks.keys(), taskId);
  const upstream = task.spec.upstream ?? [];

  const data = await upstreamData(loaded, taskId, upstream, flags, io);
  let tasks: TaskDefinition[];
  if (upstream.length === 0) {
    tasks = [task];
  } else if (data) {
    io.out(`upstream outputs from ${data.source}`);
    // The task keeps its trigger rule: after a failed upstream an all_success task does not run,
    // as in production, and its types stay true (non-null outputs).
    tasks = [...upstream.map((id) => reproduced(id, data.results[id]!, data.source)), task];
  } else {
    const needed = ancestorsOf(loaded, taskId);
    io.out(`no upstream outputs to reuse: running its upstream tasks first (${needed.join(', ')})`);
    tasks = [...needed.map((id) => loaded.tasks.get(id)!), task];
  }
  if (!flags.retry) tasks = tasks.map((t) => ({ ...t, spec: { ...t.spec, retries: 0 } }));
  const dag = new Dag(loaded.dag.options, tasks);
  return runInProcess(new DagRegistry([prepareDag(dag, loaded.file)]), dagId, flags, io, taskId);
}

/**
 * Why a DAG cannot run, with `file:line`: its own problems, or, when its file failed to import (so
 * its id is unknown), the import errors of files named after it, else of every file.
 */
function notRunnable(dagId: string, problems: readonly Problem[]): OperationError {
  const where = (p: Problem) => `${p.file}${p.line === undefined ? '' : `:${p.line}`}: ${p.message}`;
  const own = problems.filter((p) => p.dagId === dagId);
  const imports = problems.filter((p) => p.rule === 'import-error');
  const named = imports.filter((p) => basename(p.file).replace(/\.[cm]?[jt]s$/, '') === dagId);
  const shown = own.length > 0 ? own : named.length > 0 ? named : imports;
  if (shown.length === 0) return new OperationError(`no DAG "${dagId}" is defined (see \`runway dags list\`)`);
  const intro = own.length > 0 || named.length > 0 ? ':' : '; files that failed to import:';
  return new OperationError(`no DAG "${dagId}" can run${intro}\n${shown.map((p) => `  ${where(p)}`).join('\n')}`);
}

async function upstreamData(
  loaded: LoadedDag,
  taskId: string,
  upstream: readonly string[],
  flags: TaskTestFlags,
  io: CliIo,
): Promise<UpstreamData | undefined> {
  if (flags.upstream !== undefined) return readUpstreamFile(flags.upstream, taskId, upstream);
  if (upstream.length === 0 && flags.fromRun === undefined) return undefined;
  const dagId = loaded.summary.dagId;
  const { url, prefix, note } = chooseRedis(flags);
  if (note) io.err(note);
  const where = `Redis at ${redact(url)} (prefix ${prefix})`;
  if (flags.fromRun !== undefined) {
    const redis = await openRedis(url, false);
    try {
      return await readUpstreamOfRun(new RunStore(redis, { prefix }), dagId, flags.fromRun, upstream, where);
    } finally {
      redis.disconnect();
    }
  }
  // The latest successful run, if a Redis with runs is there to ask; none is not an error.
  const redis = await openRedis(url, false).catch(() => undefined);
  if (!redis) {
    io.out(`no Redis at ${redact(url)} to take upstream outputs from`);
    return undefined;
  }
  try {
    const store = new RunStore(redis, { prefix });
    const runId = await latestSuccessfulRun(store, dagId);
    if (runId === undefined) {
      io.out(`no successful run of ${dagId} in ${where}`);
      return undefined;
    }
    return await readUpstreamOfRun(store, dagId, runId, upstream, where);
  } finally {
    redis.disconnect();
  }
}

/** An upstream task that ends as it ended in the source, handing on the same output. */
function reproduced(id: string, result: UpstreamResult, source: string): TaskDefinition {
  const operator: Operator<unknown, never> = {
    kind: 'upstream-output',
    config: { source },
    run: async () => {
      if (result.state === 'skipped') throw skip(`skipped in ${source}`);
      if (result.state === 'failed') throw failNow(`failed in ${source}`);
      return result.output;
    },
  };
  return { id, spec: {}, operator };
}

/** Every task `taskId` depends on, transitively, in dependency order. */
function ancestorsOf(loaded: LoadedDag, taskId: string): string[] {
  const needed = new Set<string>();
  const visit = (id: string) => {
    for (const up of loaded.tasks.get(id)?.spec.upstream ?? []) {
      if (!needed.has(up)) {
        needed.add(up);
        visit(up);
      }
    }
  };
  visit(taskId);
  return topologicalOrder(loaded.graph)
    .map((t) => t.id)
    .filter((id) => needed.has(id));
}

/** A line to print, ordered by when it happened, not by when a poll saw it. */
interface Printed {
  at: number;
  /** Among lines of one millisecond: a task starts, then logs, then ends. */
  rank: number;
  order: number;
  text: string;
}

async function runInProcess(
  registry: DagRegistry,
  dagId: string,
  flags: RuntimeFlags & { logicalDate?: Date },
  io: CliIo,
  showOutputOf?: string,
): Promise<DagRunState> {
  let server: RedisServer | undefined;
  let url = flags.redisUrl ?? process.env.REDIS_URL;
  if (!url) {
    server = await startRedisServer({ binary: ensureRedisServer((m) => io.err(m)) });
    url = server.url;
  }
  const redis = await openRedis(url, false);
  const connection = await openRedis(url, true);
  let pending: Printed[] = [];
  let sequence = 0;
  const echo = (prefix: string) => (m: string, fields?: Record<string, unknown>) =>
    pending.push({
      at: Date.now(),
      rank: 1,
      order: sequence++,
      text: `    | ${prefix}${m}${fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : ''}`,
    });
  const log: Logger = { info: echo(''), warn: echo('WARN '), error: echo('ERROR ') };
  // A prefix of its own: two tests at once (or a test and CI) must not take each other's tasks.
  const prefix = `{runway-dags-test-${randomUUID().slice(0, 8)}}`;
  // Only the DAG under test: the asset events its tasks record must not run the DAGs that consume them.
  const engine = new Engine({ redis, registry: new DagRegistry([registry.get(dagId)!]), prefix });
  const worker = startWorker(engine, connection, { concurrency: 4, echo: log });
  const position = new Map(topologicalOrder(registry.get(dagId)!.graph).map((t, i) => [t.id, i]));
  // Lines after the poll began wait for the next one: a state change from before them may not
  // have been seen yet.
  const flush = (upTo: number) => {
    pending.sort((a, b) => a.at - b.at || a.rank - b.rank || a.order - b.order);
    for (const line of pending) if (line.at <= upTo) io.out(line.text);
    pending = pending.filter((line) => line.at > upTo);
  };
  try {
    const run = await triggerDag(engine, dagId, flags.logicalDate ? { logicalDate: flags.logicalDate } : {});
    io.out(`${dagId} ${run.runId}`);
    const printed = new Map<string, string>();
    for (;;) {
      const polledAt = Date.now();
      const snapshot = await engine.store.snapshot(dagId, run.runId);
      for (const [taskId, ti] of Object.entries(snapshot)) {
        const line = `${ti.state}${ti.try > 0 ? ` (try ${ti.try})` : ''}${ti.error ? `: ${ti.error}` : ''}`;
        if (printed.get(taskId) !== line && ti.state !== 'none') {
          printed.set(taskId, line);
          const at = eventTime(ti);
          const text = `  ${new Date(at).toISOString().slice(11, 23)}  ${taskId}  ${line}`;
          pending.push({ at, rank: STARTS.has(ti.state) ? 0 : 2, order: position.get(taskId) ?? 0, text });
        }
      }
      const current = await engine.store.getRun(dagId, run.runId);
      const finished = current && isRunFinished(current.state);
      flush(finished ? Infinity : polledAt);
      if (current && finished) {
        if (showOutputOf !== undefined && snapshot[showOutputOf]?.state === 'success') {
          const output = (await engine.store.outputs(dagId, run.runId, [showOutputOf]))[showOutputOf];
          io.out(`${showOutputOf} output: ${abbreviated(JSON.stringify(output))}`);
        }
        io.out(`run ${current.state}`);
        return current.state;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await worker.close(5_000);
    await engine.close();
    await deleteKeys(redis, prefix).catch(() => undefined);
    connection.disconnect();
    redis.disconnect();
    await server?.stop();
  }
}

const STARTS = new Set(['scheduled', 'running']);

/** When the state a record shows began: queued, started or ended. */
function eventTime(ti: TaskInstanceRecord): number {
  if (ti.state === 'scheduled') return ti.queuedAt ?? Date.now();
  if (ti.state === 'running') return ti.startedAt ?? Date.now();
  return ti.endedAt ?? Date.now();
}

const OUTPUT_SHOWN = 2_000;

function abbreviated(text: string): string {
  return text.length <= OUTPUT_SHOWN ? text : `${text.slice(0, OUTPUT_SHOWN)}… (${text.length} characters)`;
}

/** A test run leaves nothing behind in a Redis it was pointed at (on one node; a cluster keeps them). */
async function deleteKeys(redis: RedisClient, prefix: string): Promise<void> {
  if (!(redis instanceof Redis)) return;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}
