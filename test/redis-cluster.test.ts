/**
 * A real three-master Redis Cluster (as ElastiCache and MemoryDB run in cluster mode). The URL names
 * a node that does NOT own the slot of Runway's prefix: a plain connection is answered MOVED, and
 * `?cluster=true` follows the cluster to the right node. Real `runway` processes trigger a run, a
 * worker runs it, and retention deletes the run with its log keys.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '../runner/state/run-store.ts';
import { liveWorkers } from '../runner/state/worker-presence.ts';
import { connectRedis } from '../runner/redis/connect.ts';
import { findRedisServer, freePort } from '../runner/redis/redis-server.ts';
import { runCli } from './helpers/run-cli.ts';
import { killAllServices, startService, until } from './helpers/services.ts';

const DAGS = 'test/fixtures/runner-dags';
const PREFIX = '{runway-cluster}';
let folder: string;
const nodes: ChildProcess[] = [];
let ports: number[] = [];
let elsewhere: number;

const cli = (port: number, ...args: string[]) =>
  spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim();

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'runway-cluster-'));
  ports = [await freePort(), await freePort(), await freePort()];
  for (const port of ports) {
    const node = spawn(
      findRedisServer() ?? 'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes'].concat([
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--dir',
        folder,
        '--save',
        '',
        '--appendonly',
        'no',
      ]),
      { stdio: 'ignore' },
    );
    nodes.push(node);
  }
  await until('three cluster nodes', async () => (ports.every((p) => cli(p, 'ping') === 'PONG') ? true : undefined));
  const create = spawnSync(
    'redis-cli',
    ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
    { encoding: 'utf8' },
  );
  expect(create.status, create.stdout + create.stderr).toBe(0);
  await until('the cluster to be ok', async () =>
    ports.every((p) => cli(p, 'cluster', 'info').includes('cluster_state:ok')) ? true : undefined,
  );
  // A node that does not own the prefix's slot: a plain client there is sent elsewhere.
  elsewhere = ports.find((p) => cli(p, 'set', `${PREFIX}probe`, '1').startsWith('MOVED'))!;
  expect(elsewhere).toBeDefined();
}, 180_000);

afterAll(async () => {
  killAllServices();
  for (const node of nodes) node.kill('SIGKILL');
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe('Redis Cluster', () => {
  it('is refused as a plain Redis, and runs a DAG with ?cluster=true', async () => {
    const common = ['--dags', DAGS, '--prefix', PREFIX];
    const plain = await runCli(['dags', 'trigger', 'data_lake__ops', ...common], {
      env: { REDIS_URL: `redis://127.0.0.1:${elsewhere}` },
    });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(
      /^runway: DAG "data_lake__ops": no run was created: MOVED \d+ 127\.0\.0\.1:\d+ \(this Redis is a node of a Redis Cluster: add \?cluster=true to REDIS_URL\)\n$/,
    );

    const env = { REDIS_URL: `redis://127.0.0.1:${elsewhere}?cluster=true` };
    const trigger = await runCli(['dags', 'trigger', 'data_lake__ops', ...common], { env });
    // No worker yet: the run is created, and the trigger says nothing will take it for now.
    expect(trigger.stderr).toMatch(/^runway: warning: run manual__\S+: no worker is running .*\n$/);
    expect(trigger.code).toBe(0);
    const worker = startService(['worker', ...common], env);
    const runs = await until(
      'the run to succeed',
      async () => {
        const list = await runCli(['runs', 'list', 'data_lake__ops', ...common], { env });
        return /\bsuccess\b/.test(list.stdout) ? list.stdout : undefined;
      },
      120_000,
    );
    const runId = /(manual__\S+)/.exec(runs)![1]!;
    const logs = await runCli(['tasks', 'logs', 'data_lake__ops', runId, 'extract', ...common], { env });
    expect(logs.stdout).toContain('extracting events');

    // Retention deletes the run, its task instances and its log keys, wherever the cluster keeps them.
    const redis = connectRedis(env.REDIS_URL);
    try {
      // The worker's heartbeat, read through the cluster as a trigger reads it.
      expect((await liveWorkers(redis, PREFIX)).map((w) => w.pid)).toEqual([worker.child.pid]);
      const store = new RunStore(redis, { prefix: PREFIX });
      expect(await store.deleteRunsBefore('data_lake__ops', new Date(Date.now() + 86_400_000))).toBe(1);
      expect(await store.logs('data_lake__ops', runId, 'extract', 1)).toEqual([]);
      expect(await store.listRuns('data_lake__ops')).toEqual([]);
    } finally {
      redis.disconnect();
    }
  }, 180_000);

  it('creates due runs of many DAGs in one pass: the batched script keeps every key in one slot', async () => {
    const env = { REDIS_URL: `redis://127.0.0.1:${elsewhere}?cluster=true` };
    const prefix = '{runway-cluster-due}';
    const dagIds = Array.from({ length: 12 }, (_, i) => `data_lake__share_${String(i + 1).padStart(2, '0')}`);
    const scheduler = startService(
      ['scheduler', '--dags', 'test/fixtures/shared-schedulers-dags', '--prefix', prefix],
      env,
    );
    const redis = connectRedis(env.REDIS_URL);
    try {
      const store = new RunStore(redis, { prefix });
      // Twelve catch-up DAGs, all due at once: one pass hands them to one batch (up to 64 DAGs a script).
      const firstRuns = await until('a scheduled run of each of the twelve DAGs', async () => {
        const runs = await Promise.all(dagIds.map((dagId) => store.listRuns(dagId, 1)));
        return runs.every((r) => r.length > 0) ? runs.map((r) => r[0]!) : undefined;
      });
      for (const run of firstRuns) expect(run.runId).toMatch(/^scheduled__2026-01-01T00:0\d:00/);
      expect(scheduler.output()).not.toMatch(/CROSSSLOT|MOVED/);
    } finally {
      redis.disconnect();
    }
  }, 180_000);
});
