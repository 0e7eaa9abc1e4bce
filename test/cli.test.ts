import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.ts';

describe('runway validate', () => {
  it('exits 0 and says so when every DAG is fine', async () => {
    const run = await runCli(['validate']);
    expect(run).toMatchObject({ code: 0, stdout: 'runway validate: 8 DAG file(s) OK\n' });
  });

  it('exits 1 and prints GitHub annotations on the failing lines', async () => {
    const run = await runCli([
      'validate',
      'test/fixtures/policy/task-retries.ts',
      'test/fixtures/checks/cycle.ts',
      '--format',
      'github',
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout.split('\n')).toEqual([
      '::error file=test/fixtures/policy/task-retries.ts,line=5,title=runway retries::DAG data_lake__task_retries, task extract: retries is 7; the policy allows at most 3',
      '::error file=test/fixtures/checks/cycle.ts,line=6,title=runway cycle::DAG data_lake__cycle, task extract: cycle: extract -> transform -> publish -> extract',
      'runway validate: 2 problem(s) in 2 of 2 DAG file(s)',
      '',
    ]);
  });

  it('prints JSON with --format json', async () => {
    const run = await runCli(['validate', 'test/fixtures/import-errors/no-default-export.ts', '--format', 'json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      ok: false,
      files: 1,
      problems: [
        {
          file: 'test/fixtures/import-errors/no-default-export.ts',
          rule: 'import-error',
          message: 'has no default export; a DAG file must `export default dag({...})`',
        },
      ],
    });
  });

  it('uses another policy file with --policy, and exits 2 naming a broken one', async () => {
    const relaxed = await runCli([
      'validate',
      'test/fixtures/policy/dag-retries.ts',
      '--policy',
      'test/fixtures/relaxed.policy.json',
    ]);
    expect(relaxed.code).toBe(0);
    const missing = await runCli(['validate', '--policy', 'no-such.policy.json']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('runway: no-such.policy.json: cannot read the policy file');
  });

  it.each([
    [['validate', '--format', 'xml'], "argument 'xml' is invalid. Allowed choices are human, github, json"],
    [['validate', '--import-timeout', 'soon'], '--import-timeout must be a positive whole number'],
    [['validate', 'no/such/folder'], 'runway: no/such/folder: no such file or folder'],
    [['valdiate'], "unknown command 'valdiate'"],
    [['dags', 'show'], "missing required argument 'dag_id'"],
    [['dags', 'show', 'nope__nope'], 'runway: no DAG "nope__nope" in dags'],
  ])('exits 2 on a usage error: %j', async (args, message) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });
});

describe('runway tasks render', () => {
  it('prints the request and SQL a task would send, sending nothing and needing no Redis', async () => {
    const run = await runCli([
      'tasks',
      'render',
      'redshift_demo__orders_daily',
      'stage_orders',
      '--logical-date',
      '2026-03-01T05:00:00Z',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      '-- redshift_demo__orders_daily.stage_orders for logical date 2026-03-01T05:00:00.000Z (ds 2026-03-01)',
    );
    expect(run.stdout).toContain('"api": "BatchExecuteStatement"');
    expect(run.stdout).toContain('"ClusterIdentifier": "warehouse"');
    expect(run.stdout).toContain('"Sqls": "(the statements below)"');
    expect(run.stdout).toContain('-- statement 1 of 2\nDELETE FROM "staging"."orders";');
    expect(run.stdout).toContain("FROM 's3://example-orders/exports/20260301/'");
  });

  it('says a function task sends nothing, and exits 2 for an unknown task', async () => {
    const fn = await runCli(['tasks', 'render', 'redshift_demo__orders_daily', 'notify_finance']);
    expect(fn).toMatchObject({ code: 0 });
    expect(fn.stdout).toContain('task "notify_finance" is a function task: it sends nothing Runway can show');
    const missing = await runCli(['tasks', 'render', 'redshift_demo__orders_daily', 'nope']);
    expect(missing).toMatchObject({
      code: 2,
      stderr:
        'runway: DAG "redshift_demo__orders_daily" has no task "nope"; its tasks: stage_orders, merge_orders, unload_summary, notify_finance\n',
    });
  });
});

describe('runway dags', () => {
  it('lists the DAGs that import', async () => {
    const run = await runCli(['dags', 'list']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^dag_id\s+file\s+owner\s+schedule\s+tags$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual([
      'data_lake__events_nightly',
      'demo__events_landing',
      'demo__events_report',
      'demo__firehose_local',
      'demo__local_pipeline',
      'demo__mapped_regions',
      'demo__scratch_schema',
      'redshift_demo__orders_daily',
    ]);
  });

  it('lists import errors with file:line, exiting 1 when there are some', async () => {
    const clean = await runCli(['dags', 'list-import-errors']);
    expect(clean).toMatchObject({ code: 0, stdout: 'No import errors\n' });
    const broken = await runCli([
      'dags',
      'list-import-errors',
      '--dags',
      'test/fixtures/import-errors',
      '--import-timeout',
      '3',
      '--memory-limit',
      '96',
    ]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('test/fixtures/import-errors/throws.ts:4');
    expect(broken.stdout).toMatch(
      /test\/fixtures\/import-errors\/endless-loop\.ts +did not finish importing within 3000 ms/,
    );
    expect(broken.stdout).not.toContain('good.ts');
  });

  it('reports import time per file, slowest first', async () => {
    const run = await runCli(['dags', 'report']);
    const rows = run.stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(8);
    const times = rows.map((row) => Number(/([\d.]+) ms/.exec(row)?.[1]));
    expect(times[0]).toBeGreaterThanOrEqual(times[1]!);
  });

  it('shows a DAG as text and Mermaid', async () => {
    const run = await runCli(['dags', 'show', 'redshift_demo__orders_daily']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('  notify_finance  (function)  <- unload_summary  [all_done]');
    expect(run.stdout).toContain('  stage_orders  (redshift-copy)  (root)');
    expect(run.stdout).toContain(
      [
        '```mermaid',
        'flowchart LR',
        '  t0["stage_orders"]',
        '  t1["merge_orders"]',
        '  t2["unload_summary"]',
        '  t3["notify_finance"]',
        '  t0 --> t1',
        '  t1 --> t2',
        '  t2 -->|all_done| t3',
        '```',
      ].join('\n'),
    );
  });
});

describe('runway on an older Node', () => {
  it("does not bury a verb that loads the AWS SDK under the SDK's Node version warning", async () => {
    const run = await runCli(['s3', 'sync', 'no/such/folder', 's3://bucket/prefix'], {
      env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined },
    });
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toBe('runway: source folder no/such/folder does not exist\n');
  });
});
