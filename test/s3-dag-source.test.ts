/**
 * A scheduler's view of a deployment in S3 (s3rver): DAGs loaded from the manifest, hot-reloaded
 * when it changes, and whatever fails to fetch, verify or load leaves the running version in place.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DagRegistry } from '../runner/loader/dag-registry.ts';
import { deployDags, readManifest } from '../runner/deploy/deploy.ts';
import { S3DagSource } from '../runner/deploy/s3-dag-source.ts';
import { Engine } from '../runner/state/engine.ts';
import type { Logger } from '../runner/core/operator.ts';
import { isRunFinished } from '../runner/core/model.ts';
import { triggerDag } from '../runner/state/operations.ts';
import { loadPolicy } from '../runner/loader/load-policy.ts';
import { connectRedis } from '../runner/redis/connect.ts';
import { Scheduler } from '../runner/services/scheduler.ts';
import { startWorker } from '../runner/services/worker.ts';
import { REPO_ROOT, runCli } from './helpers/run-cli.ts';
import { until } from './helpers/services.ts';
import { redisUrl } from './helpers/runway.ts';
import { startLocalS3, type LocalS3 } from './helpers/s3rver.ts';

const V1 = 'test/fixtures/deploy-dags/v1';
const V2 = 'test/fixtures/deploy-dags/v2';
const policy = await loadPolicy('runway.policy.json', { required: true });
const s3Env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };

let s3: LocalS3;
beforeAll(async () => {
  s3 = await startLocalS3();
  await s3.createBucket('deploys');
});
afterAll(async () => s3?.close());
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fresh deployment prefix and a source reading it into a fresh registry. */
function freshSource() {
  const to = `s3://deploys/${randomUUID().slice(0, 8)}`;
  const registry = new DagRegistry();
  // A cache of its own, inside the repository so that bundles resolve `runway`.
  const cacheDir = join(REPO_ROOT, '.runway', `test-cache-${randomUUID().slice(0, 8)}`);
  cleanups.push(() => rm(cacheDir, { recursive: true, force: true }));
  const source = new S3DagSource(s3.client, to, registry, { log: quiet, cacheDir });
  return { to, registry, source, prefix: to.slice('s3://deploys/'.length) };
}

const put = (Key: string, Body: string | Uint8Array) =>
  s3.client.send(new PutObjectCommand({ Bucket: 'deploys', Key, Body }));
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const ids = (registry: DagRegistry) => registry.list().map((d) => d.summary.dagId);

describe('S3DagSource', () => {
  it('loads the deployed DAGs, then applies a new deployment: added, changed, removed', async () => {
    const { to, registry, source } = freshSource();
    await deployDags(s3.client, { dags: V1, to, policy });
    expect(await source.refresh()).toMatchObject({
      changed: true,
      added: ['data_lake__deploy_gone', 'data_lake__deploy_keep'],
    });
    expect(ids(registry)).toEqual(['data_lake__deploy_gone', 'data_lake__deploy_keep']);
    expect(registry.get('data_lake__deploy_keep')!.file).toBe(`${V1}/data_lake__deploy_keep.ts (${to})`);
    expect(await source.refresh()).toMatchObject({ changed: false, added: [], problems: [] });

    await deployDags(s3.client, { dags: V2, to, policy });
    expect(await source.refresh()).toMatchObject({
      changed: true,
      added: ['data_lake__deploy_new'],
      updated: ['data_lake__deploy_keep'],
      removed: ['data_lake__deploy_gone'],
      problems: [],
    });
    expect(ids(registry).sort()).toEqual(['data_lake__deploy_keep', 'data_lake__deploy_new']);
    // Retired, not forgotten: its running runs still need the definition to finish.
    expect(registry.retired().map((d) => d.summary.dagId)).toEqual(['data_lake__deploy_gone']);
  });

  it('keeps the running version when a bundle does not match its hash, and says so', async () => {
    const { to, registry, source, prefix } = freshSource();
    await deployDags(s3.client, { dags: V1, to, policy });
    await source.refresh();
    const before = registry.get('data_lake__deploy_keep');
    await deployDags(s3.client, { dags: V2, to, policy });
    const keep = (await readManifest(s3.client, { bucket: 'deploys', prefix: `${prefix}/` }))!.dags.find(
      (d) => d.dagId === 'data_lake__deploy_keep',
    )!;
    await put(`${prefix}/${keep.bundle}`, 'export default 1; // tampered');
    const result = await source.refresh();
    expect(result.problems).toEqual([
      {
        file: `${V2}/data_lake__deploy_keep.ts`,
        dagId: 'data_lake__deploy_keep',
        rule: 'deploy',
        message: `s3://deploys/${prefix}/${keep.bundle} has SHA-256 ${sha256('export default 1; // tampered')}, the manifest says ${keep.sha256}; the previous version keeps running`,
      },
    ]);
    expect(registry.get('data_lake__deploy_keep')).toBe(before);
    // The rest of the deployment still applies.
    expect(result.added).toEqual(['data_lake__deploy_new']);
  });

  it('keeps the running version when a new bundle throws at import, with the error', async () => {
    const { to, registry, source, prefix } = freshSource();
    await deployDags(s3.client, { dags: V1, to, policy });
    await source.refresh();
    const before = registry.get('data_lake__deploy_keep');
    const manifest = (await readManifest(s3.client, { bucket: 'deploys', prefix: `${prefix}/` }))!;
    const broken = `throw new Error('the warehouse password is not set ${randomUUID()}');\n`;
    await put(`${prefix}/bundles/data_lake__deploy_keep.broken.mjs`, broken);
    const dags = manifest.dags.map((d) =>
      d.dagId === 'data_lake__deploy_keep'
        ? { ...d, bundle: 'bundles/data_lake__deploy_keep.broken.mjs', sha256: sha256(broken) }
        : d,
    );
    await put(`${prefix}/manifest.json`, JSON.stringify({ ...manifest, dags }));
    const result = await source.refresh();
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatchObject({
      file: `${V1}/data_lake__deploy_keep.ts`,
      dagId: 'data_lake__deploy_keep',
    });
    expect(result.problems[0]!.message).toMatch(
      /the warehouse password is not set .*; the previous version keeps running$/,
    );
    expect(registry.get('data_lake__deploy_keep')).toBe(before);
  });

  it('says the bundle folder must be writable when it is not, and loads nothing half-written', async () => {
    const to = `s3://deploys/${randomUUID().slice(0, 8)}`;
    const registry = new DagRegistry();
    // A folder "inside" a regular file: not creatable, whoever runs the test (root included).
    const blocker = join(REPO_ROOT, '.runway', `test-blocker-${randomUUID().slice(0, 8)}`);
    await mkdir(dirname(blocker), { recursive: true });
    await writeFile(blocker, 'not a folder');
    cleanups.push(() => rm(blocker, { force: true }));
    const cacheDir = join(blocker, 'dag-bundles');
    const source = new S3DagSource(s3.client, to, registry, { log: quiet, cacheDir });
    await deployDags(s3.client, { dags: V1, to, policy });
    const result = await source.refresh();
    expect(result.added).toEqual([]);
    expect(result.problems.map((p) => p.dagId).sort()).toEqual(['data_lake__deploy_gone', 'data_lake__deploy_keep']);
    for (const problem of result.problems) {
      expect(problem.file).toMatch(/^test\/fixtures\/deploy-dags\/v1\/data_lake__deploy_\w+\.ts$/);
      expect(problem.message).toContain(`cannot write the bundle to ${cacheDir} (`);
      expect(problem.message).toContain('so it must be writable');
    }
    expect(ids(registry)).toEqual([]);
  });

  it('keeps every DAG when the manifest is malformed, naming the field', async () => {
    const { to, registry, source, prefix } = freshSource();
    await deployDags(s3.client, { dags: V1, to, policy });
    await source.refresh();
    await put(`${prefix}/manifest.json`, JSON.stringify({ format: 1, dags: 'all of them' }));
    const result = await source.refresh();
    expect(result.problems.map((p) => p.message)).toEqual([
      `s3://deploys/${prefix}/manifest.json: runwayVersion: Invalid input: expected string, received undefined; the DAGs loaded stay`,
    ]);
    expect(ids(registry)).toEqual(['data_lake__deploy_gone', 'data_lake__deploy_keep']);
  });

  it('says how to deploy when there is no manifest yet, once', async () => {
    const { to, source } = freshSource();
    expect((await source.refresh()).problems.map((p) => p.message)).toEqual([
      `no manifest: deploy with \`runway deploy --to ${to}\` (the DAGs loaded stay)`,
    ]);
    expect((await source.refresh()).problems).toEqual([]);
  });
});

describe('a scheduler and a worker on a deployment', () => {
  it('stop scheduling a removed DAG but finish its running run, and run a changed DAG new from its next task', async () => {
    const { to, registry, source } = freshSource();
    await deployDags(s3.client, { dags: V1, to, policy });
    await source.refresh();
    const redis = connectRedis(redisUrl());
    const workerConnection = connectRedis(redisUrl());
    const prefix = `{deploy-${randomUUID().slice(0, 8)}}`;
    const release = join(await mkdtemp(join(tmpdir(), 'runway-gone-')), 'release');
    const engine = new Engine({ redis, registry, prefix, env: { RUNWAY_TEST_GONE_RELEASE: release }, log: quiet });
    let now = new Date('2026-06-01T10:30:00Z');
    const scheduler = new Scheduler(engine, { now: () => now });
    const worker = startWorker(engine, workerConnection, { concurrency: 2 });
    cleanups.push(async () => {
      await worker.close(5_000);
      await engine.close();
      redis.disconnect();
      workerConnection.disconnect();
    });

    await scheduler.tick();
    const [running] = await engine.store.listRuns('data_lake__deploy_gone');
    expect(running?.runId).toBe('scheduled__2026-06-01T09:00:00.000Z');

    await deployDags(s3.client, { dags: V2, to, policy });
    expect((await source.refresh()).removed).toEqual(['data_lake__deploy_gone']);
    expect((await engine.store.getRun('data_lake__deploy_gone', running!.runId))?.state).toBe('running');
    now = new Date('2026-06-01T14:30:00Z');
    await scheduler.tick();
    expect((await engine.store.listRuns('data_lake__deploy_gone')).map((r) => r.runId)).toEqual([running!.runId]);
    await writeFile(release, '');
    const finished = await until(
      "the retired DAG's run to finish",
      async () => {
        await scheduler.tick();
        const run = await engine.store.getRun('data_lake__deploy_gone', running!.runId);
        return run && isRunFinished(run.state) ? run : undefined;
      },
      30_000,
    );
    expect(finished.state).toBe('success');

    const run = await triggerDag(engine, 'data_lake__deploy_keep');
    await until(
      "the changed DAG's run to finish",
      async () => {
        const r = await engine.store.getRun('data_lake__deploy_keep', run.runId);
        return r && isRunFinished(r.state) ? r : undefined;
      },
      30_000,
    );
    expect(await engine.store.outputs('data_lake__deploy_keep', run.runId, ['stamp'])).toEqual({
      stamp: { version: 2 },
    });
  }, 180_000);
});

describe('runway dags list-import-errors on a deployment', () => {
  it('says which deployed bundles a scheduler could not use, and exits 1; 0 when all load', async () => {
    const { to, prefix } = freshSource();
    await deployDags(s3.client, { dags: V1, to, policy });
    const args = ['dags', 'list-import-errors', '--dags', to, '--s3-endpoint', s3.endpoint];
    const clean = await runCli(args, { env: s3Env });
    expect(clean.stdout).toContain('No import errors');
    expect(clean.code).toBe(0);

    const manifest = (await readManifest(s3.client, { bucket: 'deploys', prefix: `${prefix}/` }))!;
    const claimed = sha256(randomUUID());
    const dags = manifest.dags.map((d) => (d.dagId === 'data_lake__deploy_gone' ? { ...d, sha256: claimed } : d));
    await put(`${prefix}/manifest.json`, JSON.stringify({ ...manifest, dags }));
    const broken = await runCli(args, { env: s3Env });
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain(`${V1}/data_lake__deploy_gone.ts (DAG data_lake__deploy_gone)`);
    expect(broken.stdout).toMatch(new RegExp(`has SHA-256 [0-9a-f]{64}, the manifest says ${claimed}`));
  }, 120_000);
});

describe('services started on a deployment', () => {
  it('exit 1 saying which deployment could not be read', async () => {
    const result = await runCli(
      ['scheduler', '--dags', 's3://no-such-bucket/dags', '--s3-endpoint', s3.endpoint, '--redis-url', redisUrl()],
      { env: s3Env },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^runway: cannot read the DAGs of s3:\/\/no-such-bucket\/dags: /m);
  }, 120_000);
});
