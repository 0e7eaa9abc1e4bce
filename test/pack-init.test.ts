/**
 * Runway as a DAG team uses it: `npm pack` builds and packs Runway, a fresh folder outside this
 * checkout installs the tarball, `runway init` scaffolds the repository, and there the DAGs
 * type-check against the packed declarations, validate, run with `dags test`, deploy to S3 and load
 * back from the deployment with `runway` resolved from the installed package. This is the test of
 * the build (dist/): every other test runs the sources.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type CliRun } from './helpers/run-cli.ts';
import { startLocalS3, type LocalS3 } from './helpers/s3rver.ts';

/** Quick on a warm npm cache; the registry is asked only for what the cache lacks. */
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund'];

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    // The tests run Runway's sources; the packed Runway has none and must not be told to.
    delete childEnv.RUNWAY_FROM_SOURCE;
    const child = spawn(command, args, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const shown = (result: CliRun) => `exit ${result.code}\n${result.stdout}\n${result.stderr}`;

describe('Runway packed and installed into a DAG repository', () => {
  let work: string;
  let repo: string;
  let tarball: string;
  let s3: LocalS3;
  const runway = (args: readonly string[], env: NodeJS.ProcessEnv = {}) =>
    run('npx', ['--no', 'runway', ...args], repo, env);

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'runway-pack-'));
    repo = join(work, 'team-dags');
    s3 = await startLocalS3();
  }, 180_000);
  afterAll(async () => {
    await s3?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('packs the build and the templates, and none of the TypeScript sources or tests', async () => {
    // `prepare` builds dist/ first, so the package is never an older build than the sources.
    const packed = await run('npm', ['pack', '--pack-destination', work, ...NPM_FLAGS], REPO_ROOT);
    expect(packed.code, shown(packed)).toBe(0);
    tarball = join(work, packed.stdout.trim().split('\n').at(-1)!);
    const listed = await run('tar', ['-tzf', tarball], work);
    const files = listed.stdout.split('\n').map((line) => line.replace(/^package\//, ''));
    expect(files).toEqual(
      expect.arrayContaining([
        'bin/runway.js',
        'dist/runner/index.js',
        'dist/runner/index.d.ts',
        'dist/operators/index.js',
        'dist/runner/loader/import-child.js',
        'dist/runner/loader/precompiled-hooks.mjs',
        'dist/runner/web/ui.html',
        'templates/dag-repo/_github/workflows/test-dags.yml',
        'templates/dag-repo/_husky/pre-push',
        'package.json',
      ]),
    );
    expect(files.filter((file) => /^(runner|operators|test|dags)\//.test(file))).toEqual([]);
  }, 600_000);

  it('installs into a fresh folder, where runway init scaffolds a repository whose DAGs type-check, validate and run', async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    await run('mkdir', ['-p', repo], work);
    const installed = await run(
      'npm',
      [
        'install',
        tarball,
        `typescript@${pkg.devDependencies.typescript}`,
        `@types/node@${pkg.devDependencies['@types/node']}`,
        ...NPM_FLAGS,
      ],
      repo,
    );
    expect(installed.code, shown(installed)).toBe(0);

    const init = await runway(['init']);
    expect(init.code, shown(init)).toBe(0);
    for (const file of [
      'dags/example__hello.ts',
      'runway.policy.json',
      'tsconfig.json',
      '.github/workflows/test-dags.yml',
      '.github/workflows/sync-dags.yml',
      '.husky/pre-commit',
      '.husky/pre-push',
    ]) {
      expect(existsSync(join(repo, file)), file).toBe(true);
    }
    const manifest = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(manifest.dependencies.runway).toMatch(/^file:.*runway-\d+\.\d+\.\d+\.tgz$/);
    expect(manifest.scripts.validate).toBe('runway validate');

    const typecheck = await run(join(repo, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', '.'], repo);
    expect(typecheck.code, shown(typecheck)).toBe(0);
    // The declarations carry the DAG types: an upstream that names no earlier task does not compile.
    await writeFile(
      join(repo, 'dags', 'example__typo.ts'),
      [
        `import { dag } from 'runway';`,
        `const d = { description: 'x', owner: 'me', tags: [], schedule: null, timezone: 'UTC', startDate: '2026-01-01' };`,
        `export default dag({ id: 'example__typo', ...d })`,
        `  .task('a', {}, async () => 1)`,
        `  .task('b', { upstream: ['aa'] }, async () => 2);`,
      ].join('\n'),
    );
    const typo = await run(join(repo, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', '.'], repo);
    expect(typo.code).not.toBe(0);
    expect(typo.stdout).toMatch(/dags\/example__typo\.ts\(5,/);
    await rm(join(repo, 'dags', 'example__typo.ts'));

    // A DAG with a helper module: the import child starts tsx for it (the example needs none).
    await mkdir(join(repo, 'dags', '_lib'));
    await writeFile(join(repo, 'dags', '_lib', 'team.ts'), `export const OWNER: string = 'data-platform';\n`);
    await writeFile(
      join(repo, 'dags', 'example__helper.ts'),
      [
        `import { dag } from 'runway';`,
        `import { OWNER } from './_lib/team.ts';`,
        `export default dag({ id: 'example__helper', description: 'Takes its owner from a helper module.', owner: OWNER, tags: ['example'], schedule: null, timezone: 'UTC', startDate: '2026-01-01' })`,
        `  .task('only', {}, async () => 1);`,
      ].join('\n'),
    );
    const validate = await runway(['validate']);
    expect(validate.code, shown(validate)).toBe(0);
    expect(validate.stdout).toContain('2 DAG file(s) OK');

    const dagTest = await runway(['dags', 'test', 'example__hello']);
    expect(dagTest.code, shown(dagTest)).toBe(0);
    expect(dagTest.stdout).toMatch(/report\s+success/);
  }, 600_000);

  it('deploys from the repository, and loads the deployment back with runway resolved from the installed package', async () => {
    await s3.createBucket('team-dags');
    const credentials = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
    const deployed = await runway(['deploy', '--to', 's3://team-dags/dags', '--endpoint', s3.endpoint], credentials);
    expect(deployed.code, shown(deployed)).toBe(0);
    expect(deployed.stdout).toContain('added:     example__hello, example__helper');

    const loaded = await runway(
      ['dags', 'list-import-errors', '--dags', 's3://team-dags/dags', '--s3-endpoint', s3.endpoint],
      credentials,
    );
    expect(loaded.code, shown(loaded)).toBe(0);
    expect(loaded.stdout).toContain('No import errors');
    // Fetched into the installed package: a bundle's `import 'runway'` is that package's own.
    const cache = join(repo, 'node_modules', 'runway', '.runway', 'dag-bundles');
    expect((await readdir(cache)).filter((name) => name.endsWith('.mjs'))).toHaveLength(2);
  }, 600_000);
});
