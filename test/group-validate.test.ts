/** `runway validate` on task group and setup/teardown mistakes: the file, line, DAG, group or task, and field. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../runner/core/policy.ts';
import { validate } from '../runner/loader/validate.ts';
import { runCli } from './helpers/run-cli.ts';

const FIXTURES = 'test/fixtures/group-errors';

describe('runway validate on groups and setups', () => {
  it('names the file, the line, the DAG, the group and the field of a bad group option', async () => {
    const { problems } = await validate([FIXTURES], { policy: DEFAULT_POLICY });
    const bad = problems.find((p) => p.file.endsWith('data_lake__bad_group_args.ts'));
    expect(bad).toMatchObject({
      rule: 'import-error',
      line: 11, // retries: -1, inside the group's defaultArgs
      message: expect.stringContaining(
        'DAG "data_lake__bad_group_args", group "load": field "defaultArgs.retries": Too small',
      ),
    });
  });

  it('reports a group root after a setup that does not keep all_success, naming the DAG and the task', async () => {
    const { problems } = await validate([FIXTURES], { policy: DEFAULT_POLICY });
    expect(problems.find((p) => p.file.endsWith('data_lake__setup_rule.ts'))).toMatchObject({
      rule: 'setup-downstream-rule',
      line: 6, // triggerRule: 'all_done'
      dagId: 'data_lake__setup_rule',
      taskId: 'load.stage',
      message: expect.stringContaining('follows setup "create_schema", so its triggerRule must be all_success'),
    });
  });

  it('exits non-zero from the command line', async () => {
    const run = await runCli(['validate', FIXTURES]);
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toContain('data_lake__bad_group_args.ts:11');
  });
});
