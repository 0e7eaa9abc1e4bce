/** The runner's CLI verbs as a user runs them, against the test Redis. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { redisUrl } from './helpers/runway.ts';
import { runCli } from './helpers/run-cli.ts';

const DAGS = 'test/fixtures/runner-dags';

describe('runner CLI', () => {
  const prefix = `{cli-${randomUUID().slice(0, 8)}}`;
  const common = () => ['--dags', DAGS, '--redis-url', redisUrl(), '--prefix', prefix];

  it('triggers, pauses, lists runs, shows states and logs, and runs a DAG in-process with dags test', async () => {
    const trigger = await runCli([
      'dags',
      'trigger',
      'data_lake__ops',
      '--conf',
      '{"table":"orders"}',
      '--logical-date',
      '2026-03-01',
      ...common(),
    ]);
    expect(trigger).toMatchObject({ code: 0, stdout: 'created manual__2026-03-01T00:00:00.000Z (running)\n' });

    const bad = await runCli(['dags', 'trigger', 'data_lake__ops', '--conf', '{"table":1}', ...common()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      '--conf field "table": Invalid input: expected string, received number; no run was created',
    );

    const paused = await runCli(['dags', 'pause', 'data_lake__ops', ...common()]);
    expect(paused).toMatchObject({ code: 0, stdout: 'data_lake__ops paused\n' });

    const runs = await runCli(['runs', 'list', 'data_lake__ops', ...common()]);
    expect(runs.stdout).toMatch(/manual__2026-03-01T00:00:00.000Z\s+running\s+manual/);

    const states = await runCli(['tasks', 'states', 'data_lake__ops', 'manual__2026-03-01T00:00:00.000Z', ...common()]);
    expect(states.stdout).toMatch(/extract\s+scheduled\s+0/);

    const test = await runCli([
      'dags',
      'test',
      'data_lake__ops',
      '--dags',
      DAGS,
      '--redis-url',
      redisUrl(),
      '--logical-date',
      '2026-03-02',
    ]);
    expect(test.code).toBe(0);
    expect(test.stdout).toContain('    | extracting events for 2026-03-02');
    expect(test.stdout).toMatch(/load\s+success \(try 1\)/);
    expect(test.stdout.trim().split('\n').pop()).toBe('run success');
  });

  it('runs one task alone with tasks test, without its upstream', async () => {
    const run = await runCli(['tasks', 'test', 'data_lake__ops', 'extract', '--dags', DAGS, '--redis-url', redisUrl()]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/extract\s+success \(try 1\)/);
    expect(run.stdout).not.toContain('load');
    const missing = await runCli([
      'tasks',
      'test',
      'data_lake__ops',
      'nope',
      '--dags',
      DAGS,
      '--redis-url',
      redisUrl(),
    ]);
    expect(missing).toMatchObject({
      code: 2,
      stderr: 'runway: DAG "data_lake__ops" has no task "nope"; its tasks: extract, load\n',
    });
  });

  it.each([
    [['dags', 'trigger', 'data_lake__ops', '--conf', 'not json'], '--conf must be a JSON object'],
    [['dags', 'backfill', 'data_lake__ops', '--from', '2026-01-01'], "required option '--to <date>' not specified"],
    [['dags', 'backfill', 'data_lake__ops', '--from', 'yesterday', '--to', '2026-01-02'], '--from must be an ISO date'],
    [
      ['dags', 'backfill', 'data_lake__ops', '--from', '2026-01-01', '--to', '2026-01-02', '--reprocess', 'some'],
      'Allowed choices are none, failed, all',
    ],
    [['tasks', 'mark', 'data_lake__ops', 'r', 'load', 'done'], 'state must be success or failed, not "done"'],
    [['tasks', 'clear', 'data_lake__ops', 'r', '--downstream'], '--downstream needs --task'],
    [['tasks', 'logs', 'data_lake__ops', 'r'], "missing required argument 'task_id'"],
    [['worker', '--concurrency', '0'], '--concurrency must be a positive whole number'],
    [
      ['runs', 'list', 'data_lake__ops', '--redis-url', 'http://nope'],
      'REDIS_URL must start with redis:// or rediss://, not http://',
    ],
  ])('exits 2 with a clear message: %j', async (args, message) => {
    const run = await runCli([
      ...args,
      ...(args.includes('--redis-url') ? [] : ['--redis-url', redisUrl()]),
      '--dags',
      DAGS,
    ]);
    expect(run.stderr).toContain(message);
    expect(run.code).toBe(2);
  });

  it('exits 1 saying where Redis was expected when it is unreachable', async () => {
    const run = await runCli([
      'runs',
      'list',
      'data_lake__ops',
      '--dags',
      DAGS,
      '--redis-url',
      'redis://:hunter2@127.0.0.1:1',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('runway: cannot reach Redis at redis://:***@127.0.0.1:1');
    expect(run.stderr).not.toContain('hunter2');
  });
});
