/**
 * Every import failure, structural check and policy rule has a fixture DAG file under
 * test/fixtures; validation must name the file, the DAG, the task where one is at fault, and the
 * rule, while a good DAG in the same folder still loads.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPolicy } from '../runner/loader/load-policy.ts';
import type { Problem } from '../runner/core/problem.ts';
import { validate, type ValidateReport } from '../runner/loader/validate.ts';

let report: ValidateReport;
const problemsOf = (file: string): Problem[] => report.problems.filter((p) => p.file === `test/fixtures/${file}`);

beforeAll(async () => {
  const policy = await loadPolicy('runway.policy.json', { required: true });
  // The folders this file checks; the hostile corpora have their own tests (test/reliability/).
  const folders = ['import-errors', 'checks', 'duplicate-ids', 'policy'].map((f) => `test/fixtures/${f}`);
  report = await validate(folders, { policy, importTimeoutMs: 4_000, memoryLimitMb: 96 });
}, 180_000);

describe('import failures, one file each', () => {
  it.each([
    ['import-errors/throws.ts', 4, /^SyntaxError: Expected property name/],
    ['import-errors/syntax-error.ts', 4, /^syntax error: Expected "}" but found "description"/],
    ['import-errors/missing-module.ts', 2, /^Cannot find package 'runway-helpers-that-do-not-exist'$/],
    ['import-errors/no-default-export.ts', undefined, /has no default export/],
    ['import-errors/not-a-dag.ts', undefined, /default export is a value of type object, not a DAG/],
    ['import-errors/endless-loop.ts', undefined, /did not finish importing within 4000 ms/],
    ['import-errors/prints-megabytes.ts', undefined, /^printed 3145728 bytes at import time \(limit 1048576\)$/],
    ['import-errors/process-exit.ts', 4, /called process\.exit\(3\) at import time/],
    ['import-errors/needs-credentials.ts', 5, /AWS_SECRET_ACCESS_KEY is not set/],
    ['import-errors/eats-memory.ts', undefined, /^ran out of memory at import time \(limit 96 MiB\)$/],
    ['import-errors/pollutes-prototype.ts', undefined, /changed a built-in prototype/],
    ['import-errors/bad-field.ts', 4, /DAG "data_lake__bad_field", task "load": field "retries": Too small/],
  ])('%s is reported as an import error at line %s', (file, line, message) => {
    const problems = problemsOf(file);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ rule: 'import-error', message: expect.stringMatching(message) });
    expect(problems[0]?.line).toBe(line);
  });

  it('still loads the good DAG beside them, with its import time', () => {
    const good = report.files.find((f) => f.file === 'test/fixtures/import-errors/good.ts');
    expect(good?.dag?.dagId).toBe('data_lake__good_neighbour');
    expect(good?.importMs).toBeGreaterThan(0);
    expect(problemsOf('import-errors/good.ts')).toEqual([]);
  });

  it('loads a DAG file that imports the AWS SDK at its top (the SDK adds a global of its own)', () => {
    expect(problemsOf('import-errors/imports-aws-sdk.ts')).toEqual([]);
    expect(report.files.find((f) => f.file === 'test/fixtures/import-errors/imports-aws-sdk.ts')?.dag?.dagId).toBe(
      'data_lake__imports_aws_sdk',
    );
  });
});

describe('structural checks', () => {
  it.each([
    ['checks/cycle.ts', 'data_lake__cycle', 'extract', 'cycle', 'cycle: extract -> transform -> publish -> extract'],
    ['checks/unknown-upstream.ts', 'data_lake__unknown_upstream', 'load', 'unknown-upstream', 'upstream "extarct"'],
    [
      'checks/duplicate-task.ts',
      'data_lake__duplicate_task',
      'load',
      'duplicate-task-id',
      'task id "load" is used more',
    ],
    ['checks/bad-cron.ts', 'data_lake__bad_cron', undefined, 'invalid-schedule', '"0 25 * * *" is not a valid cron'],
    ['checks/bad-timezone.ts', 'data_lake__bad_timezone', undefined, 'invalid-timezone', '"Europe/Pariss"'],
    [
      'checks/start-after-end.ts',
      'data_lake__backwards',
      undefined,
      'start-after-end',
      'startDate 2026-06-01 is after',
    ],
    ['checks/empty.ts', 'data_lake__empty', undefined, 'empty-dag', 'the DAG has no tasks'],
  ])('%s: DAG %s, task %s, rule %s', (file, dagId, taskId, rule, message) => {
    const problems = problemsOf(file);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ dagId, rule, message: expect.stringContaining(message) });
    expect(problems[0]?.taskId).toBe(taskId);
    expect(problems[0]?.line).toBeGreaterThan(0);
  });

  it('checks the DAG id and every task id', () => {
    expect(problemsOf('checks/bad-id.ts').map((p) => [p.rule, p.taskId])).toEqual([
      ['invalid-id', undefined],
      ['invalid-id', 'load rows'],
    ]);
  });

  it('names both files that declare one DAG id', () => {
    expect(problemsOf('duplicate-ids/first.ts')).toEqual([
      expect.objectContaining({
        rule: 'duplicate-dag-id',
        message: 'DAG id "data_lake__twice" is also declared in test/fixtures/duplicate-ids/second.ts',
      }),
    ]);
    expect(problemsOf('duplicate-ids/second.ts')[0]?.message).toContain('test/fixtures/duplicate-ids/first.ts');
  });
});

describe('policy rules', () => {
  it.each([
    ['no-tags', 'tags', undefined, 'the DAG has no tags'],
    ['other-tags', 'tags', undefined, 'tags [misc] include none of the allowed'],
    ['short-description', 'description', undefined, 'description "Loads." has 6 characters; at least 30'],
    ['placeholder-owner', 'owner', undefined, 'owner "airflow" is a placeholder'],
    ['short-owner', 'owner', undefined, 'owner "me" has 2 characters; at least 3'],
    ['dag-email', 'no-email-notifications', undefined, 'e-mail notifications are not allowed'],
    ['task-email', 'no-email-notifications', 'extract', 'e-mail notifications are not allowed'],
    ['dag-retries', 'retries', undefined, 'defaultArgs.retries is 5; the policy allows at most 3'],
    ['task-retries', 'retries', 'extract', 'retries is 7; the policy allows at most 3'],
    ['bad-prefix', 'dag-id', undefined, 'DAG id "marketing__campaigns" must start with one of "data_lake__"'],
  ])('policy/%s.ts fails rule %s', (name, rule, taskId, message) => {
    const problems = problemsOf(`policy/${name}.ts`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ rule, dagId: expect.any(String), message: expect.stringContaining(message) });
    expect(problems[0]?.taskId).toBe(taskId);
  });

  it('requires the id separator', () => {
    expect(problemsOf('policy/no-separator.ts').map((p) => p.message)).toContain(
      'DAG id "datalake_no_separator" must contain "__" (like "<area>__<name>")',
    );
  });
});
