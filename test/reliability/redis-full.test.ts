/**
 * Redis out of memory (`maxmemory` reached, `noeviction`: every write refused, reads served) under
 * each service, as real processes on a redis-server of the test's own:
 * - a scheduler started while Redis is full keeps its loop (a failed retention pass is logged and
 *   made again), and starts the waiting run once Redis has room;
 * - a worker started while Redis is full, or filled under a running task, carries on and runs;
 * - the webserver says not ready on /readyz, refuses a trigger with the reason and no run, and
 *   serves again once Redis has room.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadDagRegistry } from '../../runner/loader/dag-registry.ts';
import { Engine } from '../../runner/state/engine.ts';
import { isRunFinished } from '../../runner/core/model.ts';
import { triggerDag } from '../../runner/state/operations.ts';
import { connectRedis, type RedisClient } from '../../runner/redis/connect.ts';
import { startRedisServer, type RedisServer } from '../../runner/redis/redis-server.ts';
import { killAllServices, startService, until, type Service } from '../helpers/services.ts';

const DAGS = 'test/fixtures/reliability-dags';
const DAG = 'data_lake__steady';
const OUT_OF_MEMORY = /Redis is out of memory and refuses writes \(maxmemory reached, noeviction\)/;
/** What an unhandled error prints: a stack. Services log one line per problem instead. */
const STACK = /^\s+at \S/m;

let server: RedisServer;
let admin: RedisClient;
const cleanups: (() => Promise<void>)[] = [];
beforeAll(async () => {
  server = await startRedisServer();
  admin = connectRedis(server.url);
  await admin.config('SET', 'maxmemory-policy', 'noeviction');
});
afterEach(async () => {
  killAllServices();
  await admin.config('SET', 'maxmemory', '0');
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  killAllServices();
  admin.disconnect();
  await server.stop();
});

const fill = () => admin.config('SET', 'maxmemory', '1');
const free = () => admin.config('SET', 'maxmemory', '0');

async function engineOver(prefix: string): Promise<Engine> {
  const { registry } = await loadDagRegistry(DAGS);
  const redis = connectRedis(server.url);
  const engine = new Engine({ redis, registry, prefix, env: {} });
  cleanups.push(async () => {
    await engine.close();
    redis.disconnect();
  });
  return engine;
}

/** The optional `[dag run task try]` a pretty log line carries after its level. */
const CONTEXT = '(?:\\[[^\\]]*\\] )?';

function serviceArgs(prefix: string): string[] {
  // Pretty lines, as at a terminal; the context in brackets (DAG, run, task, try) is optional in the patterns.
  return ['--dags', DAGS, '--redis-url', server.url, '--prefix', prefix, '--log-format', 'pretty'];
}

/** Resolves once `pattern` has appeared `times` times in the service's output. */
function printed(service: Service, pattern: RegExp, times: number, timeoutMs = 30_000) {
  const global = new RegExp(pattern.source, 'g');
  return until(
    `${times} × ${pattern}`,
    async () => ((service.output().match(global)?.length ?? 0) >= times ? true : undefined),
    timeoutMs,
  );
}

function runState(engine: Engine, runId: string) {
  return engine.store.getRun(DAG, runId).then((run) => run?.state);
}

describe('a scheduler on a full Redis', () => {
  it('started while Redis is full keeps going, retries retention, and starts the waiting run once Redis has room', async () => {
    const prefix = `{full-sched-${randomUUID().slice(0, 8)}}`;
    const engine = await engineOver(prefix);
    const loaded = engine.loaded(DAG);
    // A finished run past the retention, for the retention pass; a queued run for the DAG pass.
    const old = await triggerDag(engine, DAG, { logicalDate: new Date('2020-01-01T00:00:00Z') });
    await engine.store.setRunState(DAG, old.runId, 'success', ['queued', 'running']);
    // Retention ages a run from its end: this one ended in 2020.
    const runKey = engine.store.runKey(DAG, old.runId);
    const record = JSON.parse((await engine.redis.hget(runKey, 'record'))!) as Record<string, unknown>;
    await engine.redis.hset(runKey, 'record', JSON.stringify({ ...record, endedAt: '2020-01-02T00:00:00.000Z' }));
    const at = new Date();
    await engine.createRun(loaded, { runId: 'waiting', runType: 'manual', start: at, end: at });

    await fill();
    const scheduler = startService(['scheduler', ...serviceArgs(prefix), '--tick', '200']);
    await scheduler.waitFor(/scheduler started/);
    // Three passes over the DAG, each refused, or the process gone.
    // A pass refused at its first write (the DAGs' due times) or at the DAG's own: either way, logged.
    const refused = `ERROR ${CONTEXT}scheduler: (?:recording the DAGs' due times|DAG ${DAG}): `;
    const passes = new RegExp(`${refused}.*OOM`, 'g');
    await until('three refused passes, or the scheduler to exit', async () =>
      scheduler.child.exitCode !== null || (scheduler.output().match(passes)?.length ?? 0) >= 3 ? true : undefined,
    );
    expect(scheduler.child.exitCode).toBeNull();
    // Retention has a loop of its own: its refusal is logged once it has run.
    await printed(
      scheduler,
      new RegExp(`ERROR ${CONTEXT}scheduler: retention of DAG ${DAG}: ${OUT_OF_MEMORY.source}`),
      1,
    );
    expect(scheduler.output()).toMatch(new RegExp(`${refused}${OUT_OF_MEMORY.source}`));
    expect(await runState(engine, 'waiting')).toBe('queued');

    await free();
    await until('the waiting run to start', async () =>
      (await runState(engine, 'waiting')) === 'running' ? true : undefined,
    );
    await until('the old run to be deleted', async () =>
      (await runState(engine, old.runId)) === undefined ? true : undefined,
    );
    expect(scheduler.child.exitCode).toBeNull();
    expect(scheduler.output()).not.toMatch(STACK);
  }, 120_000);
});

describe('a worker on a full Redis', () => {
  it('started while Redis is full, or filled under a running task, carries on and completes runs', async () => {
    const prefix = `{full-worker-${randomUUID().slice(0, 8)}}`;
    const engine = await engineOver(prefix);
    await fill();
    const worker = startService(['worker', ...serviceArgs(prefix), '--concurrency', '4']);
    await worker.waitFor(/worker started/);
    await printed(worker, new RegExp(`WARN ${CONTEXT}worker \\(default\\): OOM command not allowed`), 1);
    expect(worker.child.exitCode).toBeNull();

    await free();
    const first = await triggerDag(engine, DAG);
    await until('the first run to succeed', async () =>
      (await runState(engine, first.runId)) === 'success' ? true : undefined,
    );

    // Full again while the run's first task runs: its result cannot be written.
    const second = await triggerDag(engine, DAG, { runId: 'filled-mid-run' });
    await until('the first task to run', async () => {
      const ti = (await engine.store.snapshot(DAG, second.runId)).extract;
      return ti?.state === 'running' ? true : undefined;
    });
    await fill();
    // The try that was running finishes, and Redis refuses its outcome: it is to run again, not fail.
    await printed(
      worker,
      new RegExp(
        `WARN ${CONTEXT}task ${DAG} filled-mid-run \\w+: its state could not be written \\(${OUT_OF_MEMORY.source}`,
      ),
      1,
    );
    expect(worker.child.exitCode).toBeNull();
    // A scheduler repairs what the refused writes left (a lost hop, a job with no result).
    const scheduler = startService(['scheduler', ...serviceArgs(prefix), '--tick', '500']);
    await scheduler.waitFor(/scheduler started/);
    await free();
    const freedAt = Date.now();
    const finished = await until(
      'the run filled mid-way to finish',
      async () => {
        const run = await engine.store.getRun(DAG, second.runId);
        return run && isRunFinished(run.state) ? run : undefined;
      },
      60_000,
    );
    const errors = Object.values(await engine.store.snapshot(DAG, second.runId)).flatMap((ti) => ti.error ?? []);
    console.log(
      `worker under a full Redis mid-task: the run ended ${finished.state} ${((Date.now() - freedAt) / 1_000).toFixed(1)} s after Redis had room; worker ${worker.child.exitCode === null ? 'still running' : 'EXITED'}`,
    );
    expect(errors).toEqual([]);
    expect(finished.state).toBe('success');
    expect(worker.child.exitCode).toBeNull();
    expect(worker.output()).not.toMatch(STACK);
  }, 180_000);
});

describe('a webserver on a full Redis', () => {
  it('is not ready, refuses changes with the reason and no run, and serves again once Redis has room', async () => {
    const prefix = `{full-web-${randomUUID().slice(0, 8)}}`;
    const engine = await engineOver(prefix);
    const web = startService(['webserver', ...serviceArgs(prefix), '--port', '0']);
    await web.waitFor(/webserver on http/);
    const url = /webserver on (http:\/\/\S+)/.exec(web.output())![1]!;
    const csrfToken = ((await (await fetch(`${url}/api/csrf`)).json()) as { csrfToken: string }).csrfToken;
    const post = (path: string, body: unknown) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { origin: url, 'content-type': 'application/json', 'x-runway-csrf': csrfToken },
        body: JSON.stringify(body),
      });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    await fill();
    const readyz = await fetch(`${url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(((await readyz.json()) as { status: string }).status).toMatch(
      new RegExp(`^Redis refuses writes: ${OUT_OF_MEMORY.source}`),
    );
    const trigger = await post(`/api/dags/${DAG}/trigger`, { runId: 'while-full' });
    expect(trigger.status).toBe(503);
    expect(((await trigger.json()) as { error: string }).error).toMatch(
      new RegExp(`^DAG "${DAG}": no run was created: ${OUT_OF_MEMORY.source}`),
    );
    const pause = await post(`/api/dags/${DAG}/pause`, { paused: true });
    expect(pause.status).toBe(503);
    expect(((await pause.json()) as { error: string }).error).toMatch(OUT_OF_MEMORY);
    // Reads still work: the page shows what there is.
    expect((await fetch(`${url}/api/dags`)).status).toBe(200);
    expect(await engine.store.listRuns(DAG)).toEqual([]);
    expect(web.child.exitCode).toBeNull();

    await free();
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const retried = await post(`/api/dags/${DAG}/trigger`, { runId: 'while-full' });
    expect(retried.status).toBe(201);
    expect((await engine.store.listRuns(DAG)).map((r) => r.runId)).toEqual(['while-full']);
    expect(web.output()).not.toMatch(STACK);
  }, 60_000);
});
