/**
 * `runway deploy` on s3rver: what it writes, in which order, and that it writes nothing when a DAG
 * is bad. The CLI runs as a user or CI runs it.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleDags, BundleError } from '../runner/deploy/bundle.ts';
import { deployDags, DeployError, readManifest } from '../runner/deploy/deploy.ts';
import type { DeployManifest } from '../runner/deploy/manifest.ts';
import { loadPolicy } from '../runner/loader/load-policy.ts';
import { REPO_ROOT, runCli } from './helpers/run-cli.ts';
import { startLocalS3, type LocalS3 } from './helpers/s3rver.ts';

const V1 = 'test/fixtures/deploy-dags/v1';
const V2 = 'test/fixtures/deploy-dags/v2';
const BAD = 'test/fixtures/deploy-dags/bad';
const policy = await loadPolicy('runway.policy.json', { required: true });

let s3: LocalS3;
beforeAll(async () => {
  s3 = await startLocalS3();
  await s3.createBucket('deploys');
});
afterAll(async () => s3?.close());

let deployment = 0;
/** A fresh prefix per test, so tests do not see each other's deployments. */
const freshTarget = () => `s3://deploys/t${++deployment}`;

async function keys(client: S3Client, prefix: string): Promise<string[]> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: 'deploys', Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key!).sort();
}

async function manifestAt(target: string): Promise<DeployManifest> {
  const manifest = await readManifest(s3.client, {
    bucket: 'deploys',
    prefix: `${target.slice('s3://deploys/'.length)}/`,
  });
  if (!manifest) throw new Error(`no manifest at ${target}`);
  return manifest;
}

const cliEnv = () => ({ AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' });

describe('deployDags', () => {
  it('publishes one bundle per DAG and a manifest naming each with its hash, source and commit', async () => {
    const to = freshTarget();
    const result = await deployDags(s3.client, { dags: V1, to, policy, commit: 'abc123' });
    expect(result.deployed).toBe(true);
    const manifest = await manifestAt(to);
    expect(manifest.commit).toBe('abc123');
    expect(manifest.runwayVersion).toBe(JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')).version);
    expect(manifest.dags.map((d) => [d.dagId, d.source])).toEqual([
      ['data_lake__deploy_gone', `${V1}/data_lake__deploy_gone.ts`],
      ['data_lake__deploy_keep', `${V1}/data_lake__deploy_keep.ts`],
    ]);
    const prefix = to.slice('s3://deploys/'.length);
    expect(await keys(s3.client, `${prefix}/`)).toEqual(
      [`${prefix}/manifest.json`, ...manifest.dags.map((d) => `${prefix}/${d.bundle}`)].sort(),
    );
    // Self-contained: the shared helper is inlined, Runway itself stays an import.
    const keep = manifest.dags.find((d) => d.dagId === 'data_lake__deploy_keep')!;
    const body = await s3.client.send(new GetObjectCommand({ Bucket: 'deploys', Key: `${prefix}/${keep.bundle}` }));
    const code = await body.Body!.transformToString();
    expect(code).toContain('PIPELINE_VERSION = 1');
    expect(code).not.toMatch(/import .*_lib\/version/);
    expect(code).toMatch(/from "runway"/);
  });

  it('uploads nothing when nothing changed, and names what a new version adds, changes and removes', async () => {
    const to = freshTarget();
    await deployDags(s3.client, { dags: V1, to, policy });
    const again = await deployDags(s3.client, { dags: V1, to, policy });
    expect(again).toMatchObject({
      deployed: true,
      uploaded: 0,
      diff: { unchanged: ['data_lake__deploy_gone', 'data_lake__deploy_keep'] },
    });
    const next = await deployDags(s3.client, { dags: V2, to, policy });
    expect(next).toMatchObject({
      deployed: true,
      uploaded: 2,
      deleted: 0,
      diff: {
        added: ['data_lake__deploy_new'],
        changed: ['data_lake__deploy_keep'],
        removed: ['data_lake__deploy_gone'],
      },
    });
  });

  it('bundles the same DAG folder identically from any checkout', async () => {
    const copy = await mkdtemp(join(REPO_ROOT, '.runway', 'checkout-'));
    const out = [await mkdtemp(join(tmpdir(), 'b1-')), await mkdtemp(join(tmpdir(), 'b2-'))];
    const file = 'data_lake__deploy_keep.ts';
    await writeFile(join(copy, file), await readFile(join(REPO_ROOT, V2, file)));
    await mkdir(join(copy, '_lib'));
    await writeFile(join(copy, '_lib', 'version.ts'), await readFile(join(REPO_ROOT, V2, '_lib', 'version.ts')));
    const one = { dagId: 'data_lake__deploy_keep', file };
    const [a] = await bundleDags([{ ...one, absolutePath: join(REPO_ROOT, V2, file) }], out[0]!, join(REPO_ROOT, V2));
    const [b] = await bundleDags([{ ...one, absolutePath: join(copy, file) }], out[1]!, copy);
    expect(a!.sha256).toBe(b!.sha256);
  });

  it('with delete, removes bundles no longer named, only after the new manifest is written', async () => {
    const to = freshTarget();
    const prefix = to.slice('s3://deploys/'.length);
    await deployDags(s3.client, { dags: V1, to, policy });
    const v1 = await manifestAt(to);
    const kept = await deployDags(s3.client, { dags: V2, to, policy });
    expect(kept).toMatchObject({ deleted: 0 });
    // Without --delete the old bundles stay (unreferenced): a scheduler on the old manifest still works.
    for (const d of v1.dags) expect(await keys(s3.client, `${prefix}/${d.bundle}`)).toHaveLength(1);
    const calls: string[] = [];
    const recording = {
      send: (command: { constructor: { name: string }; input: unknown }) => {
        const { Key } = command.input as { Key?: string };
        calls.push(`${command.constructor.name}${Key ? ` ${Key}` : ''}`);
        return s3.client.send(command as never);
      },
    };
    const cleaned = await deployDags(recording as unknown as S3Client, { dags: V2, to, policy, delete: true });
    const manifestWrite = calls.indexOf(`PutObjectCommand ${prefix}/manifest.json`);
    expect(manifestWrite).toBeGreaterThan(-1);
    expect(calls.findIndex((c) => c.startsWith('DeleteObject'))).toBeGreaterThan(manifestWrite);
    expect(cleaned).toMatchObject({ deployed: true, uploaded: 0, deleted: 2 });
    const v2 = await manifestAt(to);
    expect(await keys(s3.client, `${prefix}/bundles/`)).toEqual(v2.dags.map((d) => `${prefix}/${d.bundle}`).sort());
  });

  it('in a dry run, says what would change and writes nothing', async () => {
    const to = freshTarget();
    const result = await deployDags(s3.client, { dags: V1, to, policy, dryRun: true, delete: true });
    expect(result).toMatchObject({
      deployed: true,
      dryRun: true,
      uploaded: 2,
      diff: { added: ['data_lake__deploy_gone', 'data_lake__deploy_keep'] },
    });
    expect(await keys(s3.client, to.slice('s3://deploys/'.length))).toEqual([]);
  });

  it('fails closed: one DAG breaking the policy and nothing is written, not even the good ones', async () => {
    const to = freshTarget();
    const result = await deployDags(s3.client, { dags: BAD, to, policy });
    expect(result.deployed).toBe(false);
    expect(result.deployed === false && result.problems.map((p) => [p.dagId, p.rule])).toEqual([
      ['data_lake__deploy_todo', 'owner'],
    ]);
    expect(await keys(s3.client, to.slice('s3://deploys/'.length))).toEqual([]);
  });

  it('refuses a folder without DAG files, rather than deploying an empty set', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'no-dags-'));
    await expect(deployDags(s3.client, { dags: empty, to: freshTarget(), policy })).rejects.toThrow(DeployError);
  });

  it('names the file and the DAG when a bundle cannot be built', async () => {
    const dir = await mkdtemp(join(REPO_ROOT, '.runway', 'unbundlable-'));
    await writeFile(join(dir, 'broken.ts'), "import { missing } from './nowhere.ts';\nexport default missing;\n");
    const out = await mkdtemp(join(tmpdir(), 'out-'));
    const attempt = bundleDags(
      [{ dagId: 'data_lake__broken', file: 'dags/broken.ts', absolutePath: join(dir, 'broken.ts') }],
      out,
      dir,
    );
    await expect(attempt).rejects.toThrow(BundleError);
    await expect(attempt).rejects.toThrow(/^dags\/broken\.ts: DAG "data_lake__broken" cannot be bundled: .*nowhere/);
  });
});

describe('runway deploy', () => {
  it('deploys, prints what changed, and exits 0', async () => {
    const to = freshTarget();
    const result = await runCli(['deploy', '--dags', V1, '--to', to, '--endpoint', s3.endpoint], { env: cliEnv() });
    expect(result.stderr).not.toMatch(/runway:/);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^deployed 2 DAG\(s\) to s3:\/\/deploys\/t\d+/m);
    expect(result.stdout).toMatch(/added: +data_lake__deploy_gone, data_lake__deploy_keep/);
    expect(result.stdout).toMatch(/bundles: uploaded 2, deleted 0/);
  }, 120_000);

  it('exits 1 naming the file, DAG and rule, and deploys nothing, when a DAG is bad', async () => {
    const to = freshTarget();
    const result = await runCli(['deploy', '--dags', BAD, '--to', to, '--endpoint', s3.endpoint], { env: cliEnv() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${BAD}/data_lake__deploy_todo.ts:6: DAG data_lake__deploy_todo: owner "todo"`);
    expect(result.stderr).toContain('nothing deployed');
    expect(await keys(s3.client, to.slice('s3://deploys/'.length))).toEqual([]);
  }, 120_000);

  it('exits 2 when --to is not an S3 address', async () => {
    const result = await runCli(['deploy', '--dags', V1, '--to', '/tmp/dags'], { env: cliEnv() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--to: "\/tmp\/dags" is not an s3:\/\/bucket\/prefix URI/);
  });

  it('exits 1 saying why when the bucket does not exist, and writes nothing', async () => {
    const result = await runCli(['deploy', '--dags', V1, '--to', 's3://no-such-bucket/x', '--endpoint', s3.endpoint], {
      env: cliEnv(),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/NoSuchBucket|does not exist/);
  }, 120_000);
});
