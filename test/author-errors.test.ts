/** What an author is told when a DAG file, a trigger's conf or the CLI is used wrongly. */
import { mkdtemp, readFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_POLICY } from '../runner/core/policy.ts';
import { unknownParamKeys } from '../runner/core/params.ts';
import { validate } from '../runner/loader/validate.ts';
import { redisUrl } from './helpers/runway.ts';
import { runCli } from './helpers/run-cli.ts';

const FIXTURES = 'test/fixtures/author-errors';

async function importErrors(folder: string) {
  const { problems } = await validate([folder], { policy: DEFAULT_POLICY });
  return Object.fromEntries(problems.map((p) => [p.file.split('/').pop()!, p]));
}

describe('DAG file errors', () => {
  it('point at the line of the option a dag() or .task() error names', async () => {
    const found = await importErrors(FIXTURES);
    expect(found['data_lake__bad_owner.ts']).toMatchObject({
      line: 9, // owner: 42
      message: expect.stringContaining('field "owner": Invalid input: expected string, received number'),
    });
    expect(found['data_lake__bad_task.ts']).toMatchObject({
      line: 17, // retrys: 2, inside the task's spec
      message: expect.stringContaining('task "b": field "(root)": Unrecognized key: "retrys"'),
    });
    // A missing option has no line of its own: the dag() call's.
    expect(found['data_lake__no_owner.ts']).toMatchObject({ line: 4 });
  });

  it('keep their lines in a folder reached through a symlink', async () => {
    const link = join(await mkdtemp(join(tmpdir(), 'runway-link-')), 'dags');
    await symlink(resolve(FIXTURES), link);
    const found = await importErrors(link);
    expect(found['data_lake__bad_owner.ts']?.line).toBe(9);
    expect(found['data_lake__env.ts']?.line).toBe(3);
  });

  it('say, for a variable read at import, that DAG files are imported without the environment and to use ctx.env', async () => {
    const found = await importErrors(FIXTURES);
    expect(found['data_lake__env.ts']).toMatchObject({ line: 3 });
    expect(found['data_lake__env.ts']!.message).toBe(
      "TypeError: Cannot read properties of undefined (reading 'toLowerCase'); this file reads process.env.LAKE_BUCKET " +
        'when it is imported, and DAG files are imported (by runway validate, and by schedulers and workers) without ' +
        'environment variables except PATH, HOME, TMPDIR, LANG and TZ, so it is undefined there: read settings when the ' +
        'task runs, from ctx.env (`ctx.env.LAKE_BUCKET` inside the task), not at import',
    );
    // A file that checks the variable itself and throws, naming it, gets the hint too.
    const credentials = await importErrors('test/fixtures/import-errors/needs-credentials.ts');
    expect(credentials['needs-credentials.ts']!.message).toMatch(
      /^Error: AWS_SECRET_ACCESS_KEY is not set; this file reads process\.env\.AWS_SECRET_ACCESS_KEY when it is imported, .* from ctx\.env \(`ctx\.env\.AWS_SECRET_ACCESS_KEY` inside the task\), not at import$/,
    );
    // No hint for an error that has nothing to do with the environment.
    expect(found['data_lake__bad_owner.ts']!.message).not.toContain('process.env');
    expect(await readFile(join(FIXTURES, 'data_lake__env.ts'), 'utf8')).toContain('process.env.LAKE_BUCKET!');
  });

  it('are shown with file:line by dags test and tasks test', async () => {
    const run = await runCli(['dags', 'test', 'data_lake__bad_owner', '--dags', FIXTURES, '--redis-url', redisUrl()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `runway: no DAG "data_lake__bad_owner" can run:\n  ${FIXTURES}/data_lake__bad_owner.ts:9: DagDefinitionError`,
    );
    const other = await runCli(['tasks', 'test', 'data_lake__absent', 'a', '--dags', FIXTURES]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('runway: no DAG "data_lake__absent" can run; files that failed to import:\n');
    expect(other.stderr).toContain(`  ${FIXTURES}/data_lake__env.ts:3: TypeError`);
    // A trigger of a DAG whose file is broken names the files that failed, and creates nothing.
    const trigger = await runCli(['dags', 'trigger', 'data_lake__env', '--dags', FIXTURES, '--redis-url', redisUrl()]);
    expect(trigger.code).toBe(2);
    expect(trigger.stderr).toContain('runway: no DAG "data_lake__env" is loaded here; files that failed to import');
    expect(trigger.stderr).toContain(`  ${FIXTURES}/data_lake__env.ts:3: TypeError`);
  }, 180_000);
});

describe('a manual trigger', () => {
  it('refuses a conf key the params schema does not declare, naming it, and creates no run', async () => {
    const common = ['--dags', 'test/fixtures/runner-dags', '--redis-url', redisUrl()];
    const prefix = ['--prefix', `{conf-${randomUUID().slice(0, 8)}}`];
    const run = await runCli([
      'dags',
      'trigger',
      'data_lake__ops',
      '--conf',
      '{"table":"orders","fullRefesh":true}',
      ...common,
      ...prefix,
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'runway: DAG "data_lake__ops": --conf has unknown key "fullRefesh"; its params are table, fullRefresh ' +
        '(a schema built with z.looseObject() takes any key); no run was created\n',
    );
    const runs = await runCli(['runs', 'list', 'data_lake__ops', ...common, ...prefix]);
    expect(runs.stdout).not.toContain('manual__');
  }, 180_000);

  it('takes unknown keys when the schema allows them, and sees through wrappers', () => {
    const conf = { table: 't', extra: 1 };
    expect(unknownParamKeys(z.object({ table: z.string() }), conf)).toEqual({
      unknown: ['extra'],
      declared: ['table'],
    });
    expect(unknownParamKeys(z.object({ table: z.string() }).prefault({ table: 'x' }), conf).unknown).toEqual(['extra']);
    expect(unknownParamKeys(z.strictObject({ table: z.string() }), conf).unknown).toEqual(['extra']);
    expect(unknownParamKeys(z.looseObject({ table: z.string() }), conf).unknown).toEqual([]);
    expect(unknownParamKeys(z.object({ table: z.string() }).catchall(z.number()), conf).unknown).toEqual([]);
    expect(unknownParamKeys(z.record(z.string(), z.unknown()), conf).unknown).toEqual([]);
  });
});

describe('runway --version', () => {
  it("prints Runway's version", async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      expect(await runCli([flag])).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    }
  });
});
