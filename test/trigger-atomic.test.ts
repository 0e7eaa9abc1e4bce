/**
 * A trigger either creates its run or reports an error, never both, on a Redis of the test's own
 * at `maxmemory` with `noeviction` (writes refused, reads served); a client-chosen run id makes a
 * retry find the run instead of creating a second one, in the API function and the CLI alike.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DagRegistry, prepareDag, type AnyDag } from '../runner/loader/dag-registry.ts';
import { Engine } from '../runner/state/engine.ts';
import { triggerDag, TriggerError, type TriggeredRun } from '../runner/state/operations.ts';
import { Scheduler } from '../runner/services/scheduler.ts';
import { connectRedis, type RedisClient } from '../runner/redis/connect.ts';
import { freePort, startRedisServer, type RedisServer } from '../runner/redis/redis-server.ts';
import { runCli } from './helpers/run-cli.ts';
import { redisUrl } from './helpers/runway.ts';
import wide from './fixtures/wide-dags/data_lake__wide_trigger.ts';

let server: RedisServer;
let admin: RedisClient;
beforeAll(async () => {
  server = await startRedisServer();
  admin = connectRedis(server.url);
  await admin.config('SET', 'maxmemory-policy', 'noeviction');
});
afterEach(async () => {
  await admin.config('SET', 'maxmemory', '0');
});
afterAll(async () => {
  admin.disconnect();
  await server.stop();
});

function engineOnOwnRedis(dags: readonly AnyDag[]) {
  const redis = connectRedis(server.url);
  const engine = new Engine({
    redis,
    registry: new DagRegistry(dags.map((d) => prepareDag(d))),
    prefix: `{trigger-${randomUUID().slice(0, 8)}}`,
    env: {},
  });
  return {
    engine,
    close: async () => {
      await engine.close();
      redis.disconnect();
    },
  };
}

async function usedMemory(): Promise<number> {
  const info = await admin.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

/** What a caller sees: the run it got, or the error; and which runs Redis holds afterwards. */
async function attempt(engine: Engine, dagId: string, options: Parameters<typeof triggerDag>[2] = {}) {
  let outcome: TriggeredRun | Error;
  try {
    outcome = await triggerDag(engine, dagId, options);
  } catch (error) {
    outcome = error as Error;
  }
  const runs = (await engine.store.listRuns(dagId, 100)).map((r) => r.runId);
  return { outcome, runs };
}

describe('a trigger on a Redis at maxmemory (noeviction)', () => {
  it('that fills Redis as it creates the run reports the run, not an error: a retry would make a second', async () => {
    const { engine, close } = engineOnOwnRedis([wide]);
    try {
      await admin.config('SET', 'maxmemory', String((await usedMemory()) + 96 * 1024));
      const first = await attempt(engine, 'data_lake__wide_trigger', { runId: 'wide-1' });
      // Either no run and an error, or a run and no error; here the creation fits, the start does not.
      expect(first.outcome).not.toBeInstanceOf(Error);
      const run = first.outcome as TriggeredRun;
      expect(first.runs).toEqual(['wide-1']);
      expect(run).toMatchObject({ runId: 'wide-1', created: true, state: 'queued' });
      expect(run.notStarted).toMatch(/^Redis is out of memory and refuses writes .*; the scheduler will start it$/);

      // The user retries anyway, with the same run id: the run is found, not made twice.
      const retry = await attempt(engine, 'data_lake__wide_trigger', { runId: 'wide-1' });
      expect(retry.outcome).toMatchObject({ runId: 'wide-1', created: false });
      expect(retry.runs).toEqual(['wide-1']);

      // Once Redis has room, the scheduler starts the queued run.
      await admin.config('SET', 'maxmemory', '0');
      await new Scheduler(engine).tick();
      expect((await engine.store.getRun('data_lake__wide_trigger', 'wide-1'))?.state).toBe('running');
    } finally {
      await close();
    }
  });

  it('that is refused creates no run and says so', async () => {
    const { engine, close } = engineOnOwnRedis([wide]);
    try {
      await admin.config('SET', 'maxmemory', '1');
      const refused = await attempt(engine, 'data_lake__wide_trigger', { runId: 'wide-2' });
      expect(refused.outcome).toBeInstanceOf(TriggerError);
      expect((refused.outcome as Error).message).toMatch(
        /^DAG "data_lake__wide_trigger": no run was created: Redis is out of memory and refuses writes \(maxmemory reached, noeviction\): free memory or raise maxmemory \[OOM command not allowed/,
      );
      expect(refused.runs).toEqual([]);
    } finally {
      await close();
    }
  });
});

describe('a trigger Redis does not answer', () => {
  it('says the run may exist, and names the run id that makes a retry safe', async () => {
    // As the CLI connects: no reconnection, so a command fails at once when Redis is away.
    const away = connectRedis(`redis://127.0.0.1:${await freePort()}`, {
      retryStrategy: () => null,
      lazyConnect: true,
    });
    away.on('error', () => undefined);
    const engine = new Engine({ redis: away, registry: new DagRegistry([prepareDag(wide)]), env: {} });
    try {
      const error = await triggerDag(engine, 'data_lake__wide_trigger', { runId: 'ticket-7' }).catch((e: Error) => e);
      expect(error).toBeInstanceOf(TriggerError);
      expect((error as Error).message).toMatch(
        /^DAG "data_lake__wide_trigger": Redis did not answer \(.+\), so run "ticket-7" may or may not exist; trigger again with --run-id ticket-7 \(API: "runId"\), which creates it at most once$/,
      );
    } finally {
      away.disconnect();
    }
  });
});

describe('runway dags trigger', () => {
  const dags = ['--dags', 'test/fixtures/runner-dags'];

  it('with --run-id twice creates one run; the second says it exists', async () => {
    const args = ['dags', 'trigger', 'data_lake__ops', ...dags, '--redis-url', redisUrl()];
    const prefix = `{cli-trigger-${randomUUID().slice(0, 8)}}`;
    const flags = ['--run-id', 'backfill-ticket-42', '--prefix', prefix, '--conf', '{"table":"orders"}'];
    const first = await runCli([...args, ...flags]);
    expect({ code: first.code, stdout: first.stdout }).toEqual({
      code: 0,
      stdout: 'created backfill-ticket-42 (running)\n',
    });
    const second = await runCli([...args, ...flags]);
    expect({ code: second.code, stdout: second.stdout }).toEqual({
      code: 0,
      stdout: 'backfill-ticket-42 exists already (running): not created again\n',
    });
    const otherConf = await runCli([...args, ...flags.slice(0, 4), '--conf', '{"table":"events"}']);
    expect(otherConf.code).toBe(2);
    expect(otherConf.stderr).toBe(
      'runway: DAG "data_lake__ops" already has a run "backfill-ticket-42" with another conf; no run was created\n',
    );
    const redis = connectRedis(redisUrl());
    try {
      expect(await redis.zrange(`${prefix}:runs:data_lake__ops`, '0', '-1')).toEqual(['backfill-ticket-42']);
    } finally {
      redis.disconnect();
    }
  }, 180_000);

  it('that fills Redis as it creates the run prints the run and exits 0, not an OOM error', async () => {
    const prefix = `{cli-fills-${randomUUID().slice(0, 8)}}`;
    await admin.config('SET', 'maxmemory', String((await usedMemory()) + 96 * 1024));
    const args = ['dags', 'trigger', 'data_lake__wide_trigger', '--dags', 'test/fixtures/wide-dags'];
    const filled = await runCli([...args, '--redis-url', server.url, '--prefix', prefix, '--run-id', 'wide-cli']);
    expect({ code: filled.code, stdout: filled.stdout }).toEqual({ code: 0, stdout: 'created wide-cli (queued)\n' });
    expect(filled.stderr).toMatch(
      // The second line is the trigger's no-worker warning: this test starts no worker.
      /^runway: wide-cli is queued, not started here: Redis is out of memory and refuses writes .*; the scheduler will start it\nrunway: warning: run wide-cli: no worker is running .*\n$/,
    );
    expect(await admin.zrange(`${prefix}:runs:data_lake__wide_trigger`, '0', '-1')).toEqual(['wide-cli']);
  }, 180_000);

  it('refused by a full Redis exits 1, says no run was created, and creates none', async () => {
    const prefix = `{cli-full-${randomUUID().slice(0, 8)}}`;
    await admin.config('SET', 'maxmemory', '1');
    const refused = await runCli([
      'dags',
      'trigger',
      'data_lake__ops',
      ...dags,
      '--redis-url',
      server.url,
      '--prefix',
      prefix,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^runway: DAG "data_lake__ops": no run was created: Redis is out of memory and refuses writes \(maxmemory reached, noeviction\): free memory or raise maxmemory \[OOM command not allowed[^\n]*\]\n$/,
    );
    expect(await admin.keys(`${prefix}*`)).toEqual([]);
  }, 180_000);
});
