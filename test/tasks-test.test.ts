/** `runway tasks test` as an author runs it: the upstream outputs come from a run, a file, or its upstream tasks. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import regions from './fixtures/task-test-dags/data_lake__regions.ts';
import { redisUrl, testRunway, type TestRunway } from './helpers/runway.ts';
import { runCli } from './helpers/run-cli.ts';

const DAGS = 'test/fixtures/task-test-dags';

describe('runway tasks test', () => {
  let runway: TestRunway;
  let dir: string;
  const runIds: string[] = [];
  const flags = () => ['--dags', DAGS, '--redis-url', redisUrl(), '--prefix', runway.prefix];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'runway-tasks-test-'));
    runway = testRunway([regions]);
    runway.worker();
    // An older run where eu failed (so eu_report did not run), then a newer one where both succeeded.
    for (const [failEu, day, state] of [
      [true, '2026-03-01', 'failed'],
      [false, '2026-03-02', 'success'],
    ] as const) {
      const run = await runway.trigger('data_lake__regions', { failEu }, new Date(day));
      expect((await runway.waitForRun('data_lake__regions', run.runId)).state).toBe(state);
      runIds.push(run.runId);
    }
  });
  afterAll(() => runway.close());

  it('runs the README example: with no run to reuse, the upstream tasks run first', async () => {
    const run = await runCli([
      'tasks',
      'test',
      'demo__local_pipeline',
      'aggregate',
      '--dags',
      'dags',
      '--redis-url',
      redisUrl(),
      '--prefix',
      `{empty-${randomUUID().slice(0, 8)}}`,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('running its upstream tasks first (generate_orders)');
    expect(run.stdout).toMatch(/aggregate\s+success \(try 1\)/);
    expect(run.stdout).toContain('aggregate output: {"eu":133,"us":140,"apac":117}');
    expect(run.stdout).not.toContain('report');
  });

  it('takes the upstream outputs of the latest successful run by default', async () => {
    const run = await runCli(['tasks', 'test', 'data_lake__regions', 'total', ...flags()]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`upstream outputs from run ${runIds[1]}`);
    expect(run.stdout).toContain('total output: {"rows":8,"missing":[]}');
  });

  it('takes them from a named run, with a failed upstream reproduced as failed (its output null)', async () => {
    const run = await runCli(['tasks', 'test', 'data_lake__regions', 'total', '--from-run', runIds[0]!, ...flags()]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/eu\s+failed \(try 1\): failed in run manual__2026-03-01/);
    expect(run.stdout).toContain('total output: {"rows":5,"missing":["eu"]}');

    // A task under all_success (the default) does not run after a failed upstream, as in production.
    const strict = await runCli([
      'tasks',
      'test',
      'data_lake__regions',
      'eu_report',
      '--from-run',
      runIds[0]!,
      ...flags(),
    ]);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/eu_report\s+upstream_failed/);
    expect(strict.stdout).not.toContain('eu_report output');

    // A run whose upstream tasks have not ended has no outputs to hand on.
    const pending = 'manual__2026-04-01T00:00:00.000Z';
    const at = new Date('2026-04-01');
    await runway.engine.createRun(runway.engine.loaded('data_lake__regions'), {
      runId: pending,
      runType: 'manual',
      start: at,
      end: at,
    });
    const early = await runCli(['tasks', 'test', 'data_lake__regions', 'total', '--from-run', pending, ...flags()]);
    expect(early.code).toBe(2);
    expect(early.stderr).toContain(
      `runway: --from-run: upstream task "eu" is none in run "${pending}", so it has no output yet`,
    );

    const both = await runCli([
      'tasks',
      'test',
      'data_lake__regions',
      'total',
      '--from-run',
      pending,
      '--upstream',
      'x.json',
      ...flags(),
    ]);
    expect(both).toMatchObject({ code: 2, stderr: 'runway: give --from-run or --upstream, not both\n' });

    const unknown = await runCli(['tasks', 'test', 'data_lake__regions', 'total', '--from-run', 'nope', ...flags()]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('runway: --from-run: DAG "data_lake__regions" has no run "nope" in Redis at');
  }, 120_000);

  it('takes them from a JSON file, checked field by field', async () => {
    const good = join(dir, 'good.json');
    await writeFile(good, JSON.stringify({ eu: { region: 'eu', rows: 10 }, us: null }));
    const run = await runCli(['tasks', 'test', 'data_lake__regions', 'total', '--upstream', good, ...flags()]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`upstream outputs from ${good}`);
    expect(run.stdout).toContain('total output: {"rows":10,"missing":["us"]}');

    const cases: [string, string][] = [
      ['{"eu": 1, "us": 2, "apac": 3}', 'field "apac" is not an upstream task of "total"; its upstream: eu, us'],
      ['{"eu": 1}', 'field "us" is missing: give the output of upstream task "us" (null if it returns nothing)'],
      ['[1, 2]', 'must be an object with one field per upstream task of "total" (eu, us) holding its output'],
      ['{"eu": ', 'not valid JSON'],
    ];
    for (const [i, [text, message]] of cases.entries()) {
      const file = join(dir, `bad-${i}.json`);
      await writeFile(file, text);
      const bad = await runCli(['tasks', 'test', 'data_lake__regions', 'total', '--upstream', file, ...flags()]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(`runway: --upstream ${file}: ${message}`);
    }
    const absent = await runCli([
      'tasks',
      'test',
      'data_lake__regions',
      'total',
      '--upstream',
      join(dir, 'absent.json'),
      ...flags(),
    ]);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain(`runway: --upstream ${join(dir, 'absent.json')}: cannot be read (ENOENT`);
  }, 120_000);

  it('gives a failing task one try, not its retries, so the failure shows at once', async () => {
    const run = await runCli(['tasks', 'test', 'data_lake__regions', 'flaky', ...flags()], {
      env: { RUNWAY_TEST_FLAKY: '1' },
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/flaky\s+failed \(try 1\): flaky on purpose/);
    expect(run.stdout).not.toContain('up_for_retry');
    expect(run.stdout.trim().split('\n').pop()).toBe('run failed');
  });

  it('dags test prints state changes and log lines in the order they happened', async () => {
    const run = await runCli(['dags', 'test', 'demo__local_pipeline', '--dags', 'dags', '--redis-url', redisUrl()]);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    const times = lines.flatMap((line) => /^ {2}(\d\d:\d\d:\d\d\.\d{3}) {2}/.exec(line)?.[1] ?? []);
    expect(times.length).toBeGreaterThanOrEqual(3);
    expect(times).toEqual([...times].sort());
    const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    expect(at(/generate_orders\s+success/)).toBeLessThan(at(/aggregate\s+success/));
    expect(at(/\| generated 20 orders/)).toBeLessThan(at(/generate_orders\s+success/));
    expect(at(/aggregate\s+success/)).toBeLessThan(at(/\| revenue by region/));
    expect(at(/\| revenue by region/)).toBeLessThan(at(/report\s+success/));
  });
});
