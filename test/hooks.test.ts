/**
 * The husky hooks, run by real git in a temporary copy of this repository (its node_modules
 * linked): pre-commit formats and lints staged files, pre-push runs typecheck, validate and the
 * unit tests, also on the first push of a new branch, and HUSKY=0 skips them.
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/run-cli.ts';

let root: string;
let work: string;

/** CI sets HUSKY=0 for its own checkout; these hooks must run regardless. */
function withoutHusky(): NodeJS.ProcessEnv {
  const { HUSKY: _husky, ...inherited } = process.env;
  return inherited;
}

function git(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; output: string } {
  const result = spawnSync('git', args, { cwd: work, env: { ...withoutHusky(), ...env }, encoding: 'utf8' });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

function ok(args: string[], env: NodeJS.ProcessEnv = {}): string {
  const result = git(args, env);
  if (result.code !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.output}`);
  return result.output;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'runway-hooks-'));
  work = join(root, 'work');
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  }).stdout.split('\0');
  for (const file of listed.filter(Boolean)) {
    await mkdir(dirname(join(work, file)), { recursive: true });
    await copyFile(join(REPO_ROOT, file), join(work, file)).catch(() => undefined);
  }
  await symlink(join(REPO_ROOT, 'node_modules'), join(work, 'node_modules'));
  ok(['init', '-q', '-b', 'main']);
  ok(['config', 'user.email', 'dev@example.com']);
  ok(['config', 'user.name', 'A Developer']);
  ok(['add', '-A']);
  ok(['commit', '-q', '-m', 'a copy of Runway']);
  // What `npm ci` runs as "prepare".
  const prepared = spawnSync(process.execPath, ['node_modules/husky/bin.js'], {
    cwd: work,
    env: withoutHusky(),
    encoding: 'utf8',
  });
  expect(prepared.status).toBe(0);
  ok(['init', '-q', '--bare', join(root, 'origin.git')]);
  ok(['remote', 'add', 'origin', join(root, 'origin.git')]);
}, 180_000);
afterAll(async () => rm(root, { recursive: true, force: true }));

describe('pre-commit', () => {
  it('formats a staged file and commits the formatted version', async () => {
    await writeFile(join(work, 'runner', 'spacing.ts'), 'export const answer   =   42\n');
    ok(['add', 'runner/spacing.ts']);
    ok(['commit', '-q', '-m', 'add spacing']);
    expect(ok(['show', 'HEAD:runner/spacing.ts'])).toBe('export const answer = 42;\n');
  }, 180_000);

  it('stops the commit on a lint error it cannot fix, naming the rule', async () => {
    const head = ok(['rev-parse', 'HEAD']);
    await writeFile(join(work, 'runner', 'loose.ts'), 'export const loose: any = 1;\n');
    ok(['add', 'runner/loose.ts']);
    const commit = git(['commit', '-q', '-m', 'add loose']);
    expect(commit.code).not.toBe(0);
    expect(commit.output).toContain('@typescript-eslint/no-explicit-any');
    expect(ok(['rev-parse', 'HEAD'])).toBe(head);
    ok(['rm', '-q', '-f', 'runner/loose.ts']);
  }, 180_000);
});

describe('pre-push', () => {
  it('checks and allows the first push of a new branch, with no upstream yet', () => {
    ok(['checkout', '-q', '-b', 'feature/first-push']);
    const push = git(['push', 'origin', 'feature/first-push']);
    expect(push.output).toContain('runway validate:');
    expect(push.code).toBe(0);
    expect(ok(['ls-remote', 'origin', 'feature/first-push'])).toContain('refs/heads/feature/first-push');
  }, 600_000);

  it('refuses to push a DAG that breaks the team policy, naming the file; HUSKY=0 skips the check', async () => {
    const dagFile = 'dags/data_lake__unowned.ts';
    await writeFile(
      join(work, dagFile),
      [
        "import { dag } from 'runway';",
        '',
        'export default dag({',
        "  id: 'data_lake__unowned',",
        "  description: 'A DAG nobody owns, which the team policy refuses.',",
        "  owner: 'todo',",
        "  tags: ['data-lake'],",
        '  schedule: null,',
        "  timezone: 'UTC',",
        "  startDate: '2026-01-01',",
        "}).task('noop', {}, async () => null);",
        '',
      ].join('\n'),
    );
    ok(['add', dagFile]);
    ok(['commit', '-q', '-m', 'add an unowned DAG']);
    const push = git(['push', 'origin', 'feature/first-push']);
    expect(push.code).not.toBe(0);
    expect(push.output).toContain(`${dagFile}:6: DAG data_lake__unowned: owner "todo" is a placeholder`);
    const local = ok(['rev-parse', 'HEAD']).trim();
    expect(ok(['ls-remote', 'origin', 'feature/first-push'])).not.toContain(local);

    expect(git(['push', 'origin', 'feature/first-push'], { HUSKY: '0' }).code).toBe(0);
    expect(ok(['ls-remote', 'origin', 'feature/first-push'])).toContain(local);
  }, 600_000);
});
