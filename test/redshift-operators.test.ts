/**
 * The Redshift operators run by a real worker on Redis, against the Data API client mocked with
 * realistic response sequences; the tests assert the exact requests and SQL sent.
 */
import {
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  RedshiftDataClient,
  RedshiftDataServiceException,
} from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dag, DagDefinitionError } from 'runway';
import { redshiftCopy, redshiftSql, redshiftUnload } from '../operators/index.ts';
import { statementRequest } from '../operators/redshift/statement.ts';
import { testAwsClients } from './helpers/aws-clients.ts';
import { runCli } from './helpers/run-cli.ts';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';
import { startLocalS3, type LocalS3 } from './helpers/s3rver.ts';

let localS3: LocalS3;
beforeAll(async () => {
  localS3 = await startLocalS3();
  await localS3.createBucket('lake-curated');
  aws.s3 = localS3.client;
});
afterAll(async () => localS3?.close());

const aws = testAwsClients();
const redshift = mockClient(RedshiftDataClient);
const ROLE = 'arn:aws:iam::123456789012:role/redshift-loader';
const target = { workgroupName: 'analytics', database: 'dev' };

let runway: TestRunway;
beforeEach(() => redshift.reset());
afterEach(async () => runway?.close());

const logical = new Date('2026-03-01T00:00:00Z');
const renderRun = {
  runId: 'r',
  tryNumber: 1,
  logicalDate: logical,
  dataIntervalStart: logical,
  dataIntervalEnd: logical,
  ds: '2026-03-01',
  dsNodash: '20260301',
  params: {},
};

async function runOne(task: Parameters<ReturnType<typeof dag>['task']>[2], spec: object = {}) {
  const d = dag({ ...manualDag, id: 'redshift_demo__op' }).task('load', spec, task as never);
  runway = testRunway([d]);
  runway.worker({ aws });
  const run = await runway.trigger('redshift_demo__op', {}, logical);
  const done = await runway.waitForRun('redshift_demo__op', run.runId);
  const ti = (await runway.engine.store.snapshot('redshift_demo__op', run.runId)).load!;
  const output = (await runway.engine.store.outputs('redshift_demo__op', run.runId, ['load'])).load;
  return { done, ti, output, run };
}

describe('redshiftCopy', () => {
  it('upserts in one transaction: submits the batch, polls SUBMITTED -> PICKED -> STARTED -> FINISHED', async () => {
    redshift.on(BatchExecuteStatementCommand).resolves({ Id: 'stmt-1' });
    redshift
      .on(DescribeStatementCommand)
      .resolvesOnce({ Id: 'stmt-1', Status: 'SUBMITTED' })
      .resolvesOnce({ Id: 'stmt-1', Status: 'PICKED' })
      .resolvesOnce({ Id: 'stmt-1', Status: 'STARTED' })
      .resolves({
        Id: 'stmt-1',
        Status: 'FINISHED',
        Duration: 4_200_000_000,
        SubStatements: [{ Id: 'stmt-1:1' }, { Id: 'stmt-1:2', ResultRows: 1234 }, {}, {}, {}].map((s, i) => ({
          Id: `stmt-1:${i + 1}`,
          ...s,
        })),
      });
    const copy = redshiftCopy({
      target,
      table: 'analytics.orders',
      from: (run) => `s3://lake-raw/orders/dt=${run.ds}/`,
      iamRole: ROLE,
      format: { type: 'parquet' },
      mode: { type: 'upsert', keys: ['order_id'] },
      poll: { minPollMs: 10, maxPollMs: 20 },
    });
    const { done, output, ti } = await runOne(copy);
    expect(done.state).toBe('success');
    expect(output).toEqual({ statementId: 'stmt-1', table: 'analytics.orders', rowsLoaded: 1234, durationMs: 4200 });
    const input = redshift.commandCalls(BatchExecuteStatementCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      WorkgroupName: 'analytics',
      Database: 'dev',
      StatementName: 'runway.redshift_demo__op.load',
    });
    expect(input.ClientToken).toMatch(/^[0-9a-f]{64}$/);
    expect(input.Sqls).toEqual([
      'CREATE TEMP TABLE "runway_stage_load" (LIKE "analytics"."orders")',
      `COPY "runway_stage_load"\nFROM 's3://lake-raw/orders/dt=2026-03-01/'\nIAM_ROLE '${ROLE}'\nFORMAT AS PARQUET`,
      'DELETE FROM "analytics"."orders" USING "runway_stage_load" WHERE "analytics"."orders"."order_id" = "runway_stage_load"."order_id"',
      'INSERT INTO "analytics"."orders" SELECT * FROM "runway_stage_load"',
      'DROP TABLE "runway_stage_load"',
    ]);
    expect(redshift.commandCalls(DescribeStatementCommand)).toHaveLength(4);
    expect(ti.try).toBe(1);
  });

  it("fails with Redshift's error text, the statement id and the SQL", async () => {
    redshift.on(ExecuteStatementCommand).resolves({ Id: 'stmt-2' });
    redshift.on(DescribeStatementCommand).resolvesOnce({ Id: 'stmt-2', Status: 'STARTED' }).resolves({
      Id: 'stmt-2',
      Status: 'FAILED',
      Error: "ERROR: Load into table 'events' failed. Check 'stl_load_errors' system table for details.",
    });
    const copy = redshiftCopy({
      target: { clusterIdentifier: 'warehouse', database: 'dev', dbUser: 'etl' },
      table: 'events',
      from: 's3://lake-raw/events/',
      iamRole: 'default',
      format: { type: 'json' },
      poll: { minPollMs: 10 },
    });
    const { done, ti } = await runOne(copy);
    expect(done.state).toBe('failed');
    expect(ti.error).toBe(
      "Redshift statement stmt-2 failed: ERROR: Load into table 'events' failed. Check 'stl_load_errors' system table for details.\nSQL:\nCOPY \"events\"\nFROM 's3://lake-raw/events/'\nIAM_ROLE default\nFORMAT AS JSON 'auto'",
    );
    expect(redshift.commandCalls(ExecuteStatementCommand)[0]!.args[0].input).toMatchObject({
      ClusterIdentifier: 'warehouse',
      Database: 'dev',
      DbUser: 'etl',
    });
  });

  it('keeps polling through throttling', async () => {
    redshift.on(ExecuteStatementCommand).resolves({ Id: 'stmt-3' });
    const throttled = new RedshiftDataServiceException({
      name: 'ThrottlingException',
      $fault: 'client',
      $metadata: {},
      message: 'Rate exceeded',
    });
    redshift
      .on(DescribeStatementCommand)
      .rejectsOnce(throttled)
      .resolves({ Id: 'stmt-3', Status: 'FINISHED', ResultRows: 7 });
    const copy = redshiftCopy({
      target,
      table: 't',
      from: 's3://bkt/k/',
      iamRole: ROLE,
      format: { type: 'csv' },
      poll: { minPollMs: 10 },
    });
    const { done, output } = await runOne(copy);
    expect(done.state).toBe('success');
    expect(output).toMatchObject({ rowsLoaded: 7 });
  });

  it('cancels the statement in Redshift when the try times out', async () => {
    redshift.on(ExecuteStatementCommand).resolves({ Id: 'stmt-4' });
    redshift.on(DescribeStatementCommand).resolves({ Id: 'stmt-4', Status: 'STARTED' });
    redshift.on(CancelStatementCommand).resolves({ Status: true });
    const copy = redshiftCopy({
      target,
      table: 't',
      from: 's3://bkt/k/',
      iamRole: ROLE,
      format: { type: 'csv' },
      poll: { minPollMs: 20 },
    });
    const { done, ti } = await runOne(copy, { executionTimeout: '300ms' });
    expect(done.state).toBe('failed');
    expect(ti.error).toBe('timed out after 300 ms');
    await expect
      .poll(() => redshift.commandCalls(CancelStatementCommand).map((c) => c.args[0].input))
      .toEqual([{ Id: 'stmt-4' }]);
  });

  it('waits in reschedule mode: one submit, the statement id kept between pokes', async () => {
    redshift.on(ExecuteStatementCommand).resolves({ Id: 'stmt-5' });
    redshift
      .on(DescribeStatementCommand)
      .resolvesOnce({ Id: 'stmt-5', Status: 'STARTED' })
      .resolves({ Id: 'stmt-5', Status: 'FINISHED', ResultRows: 99 });
    const copy = redshiftCopy({
      target,
      table: 't',
      from: 's3://bkt/k/',
      iamRole: ROLE,
      format: { type: 'csv' },
      reschedule: { timeout: '1m', pollEvery: '50ms' },
    });
    const { done, output } = await runOne(copy);
    expect(done.state).toBe('success');
    expect(output).toMatchObject({ statementId: 'stmt-5', rowsLoaded: 99 });
    expect(redshift.commandCalls(ExecuteStatementCommand)).toHaveLength(1);
    expect(redshift.commandCalls(DescribeStatementCommand).map((c) => c.args[0].input.Id)).toEqual([
      'stmt-5',
      'stmt-5',
    ]);
  });

  it('names the operator and field of a wrong option when the DAG is imported', () => {
    expect(() =>
      redshiftCopy({
        target,
        table: 'users; drop table x',
        from: 's3://bkt/k/',
        iamRole: ROLE,
        format: { type: 'csv' },
      }),
    ).toThrow(/^table: "users; drop table x" is not a plain identifier/);
    expect(() =>
      redshiftCopy({
        target: { workgroupName: 'w' } as never,
        table: 't',
        from: 's3://bkt/k/',
        iamRole: ROLE,
        format: { type: 'csv' },
      }),
    ).toThrow(/^redshiftCopy: field "target"/);
  });
});

describe('names Runway derives, checked when the DAG is imported', () => {
  const upsert = () =>
    redshiftCopy({
      target,
      table: 'analytics.events',
      from: 's3://lake-raw/events/',
      iamRole: ROLE,
      format: { type: 'parquet' },
      mode: { type: 'upsert', keys: ['event_id'] },
    });
  const longId = `load_${'x'.repeat(145)}`;

  it("refuses an upsert whose staging table, named after the task id, passes Redshift's 127 bytes", () => {
    const adding = () => dag({ ...manualDag, id: 'redshift_demo__long' }).task(longId, {}, upsert());
    expect(adding).toThrow(DagDefinitionError);
    expect(adding).toThrow(
      `DAG "redshift_demo__long", task "${longId}": redshiftCopy: field "mode": an upsert stages rows in a temporary table named after the task id, "runway_stage_load_xxxxxxxxxxxxxxxxxxxxxx…" (163 bytes); Redshift allows 127: give the task an id of at most 114 characters`,
    );
  });

  it('accepts a task id of 114 characters, whose staging table is exactly 127, and any id for an append', () => {
    const id = `l${'x'.repeat(113)}`;
    const d = dag({ ...manualDag, id: 'redshift_demo__edge' }).task(id, {}, upsert());
    const copy = d.tasks[0]!.operator as ReturnType<typeof upsert>;
    const { sql } = copy.render({ ...renderRun, dagId: d.id, taskId: id });
    expect(sql[0]).toBe(`CREATE TEMP TABLE "runway_stage_${id}" (LIKE "analytics"."events")`);
    expect(`runway_stage_${id}`).toHaveLength(127);
    const append = redshiftCopy({ target, table: 't', from: 's3://bkt/k/', iamRole: ROLE, format: { type: 'csv' } });
    expect(() => dag({ ...manualDag, id: 'redshift_demo__append' }).task(longId, {}, append)).not.toThrow();
  });

  it('`runway validate` reports it as an import error naming the DAG, the task and the field', async () => {
    const run = await runCli(['validate', 'test/fixtures/redshift-dags/data_lake__long_upsert.ts']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `DAG "data_lake__long_upsert", task "${longId}": redshiftCopy: field "mode": an upsert stages rows in a temporary table named after the task id`,
    );
    expect(run.stdout).toContain('[import-error]');
  }, 180_000);
});

describe('`runway tasks render` on a task that cannot render', () => {
  it('prints one line naming the DAG, the task and the field, and exits 1 without a stack trace', async () => {
    const args = ['tasks', 'render', 'data_lake__render_error', 'load', '--dags', 'test/fixtures/redshift-dags'];
    const fine = await runCli([...args, '--logical-date', '2026-03-01']);
    expect(fine.code).toBe(0);
    expect(fine.stdout).toContain("FROM 's3://lake-raw/events/dt=2026-03-01/'");
    const run = await runCli([...args, '--logical-date', '2026-03-01', '--conf', `{"source":"it's"}`]);
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'runway: DAG "data_lake__render_error", task "load": cannot render for logical date 2026-03-01T00:00:00.000Z: from: "s3://lake-raw/it\'s/dt=2026-03-01/" is not an s3://bucket/key URI of safe characters\n',
    });
  }, 180_000);
});

describe('redshiftUnload', () => {
  it('unloads a templated query, escaped, and reports the prefix, the manifest and the files it lists', async () => {
    const files = [
      's3://lake-curated/orders_daily/ds=2026-03-01/0000_part_00.parquet',
      's3://lake-curated/orders_daily/ds=2026-03-01/0001_part_00.parquet',
    ];
    await localS3.client.send(
      new PutObjectCommand({
        Bucket: 'lake-curated',
        Key: 'orders_daily/ds=2026-03-01/manifest',
        Body: JSON.stringify({ entries: files.map((url) => ({ url, meta: { content_length: 1024 } })) }),
      }),
    );
    redshift.on(ExecuteStatementCommand).resolves({ Id: 'stmt-6' });
    redshift.on(DescribeStatementCommand).resolves({ Id: 'stmt-6', Status: 'FINISHED', ResultRows: 3 });
    const unload = redshiftUnload({
      target,
      query: (run) => `select region, count(*) from orders where day = '${run.ds}' group by 1`,
      to: (run) => `s3://lake-curated/orders_daily/ds=${run.ds}/`,
      iamRole: ROLE,
      format: 'parquet',
      manifest: true,
      allowOverwrite: true,
    });
    const { done, output } = await runOne(unload);
    expect(done.state).toBe('success');
    expect(output).toEqual({
      statementId: 'stmt-6',
      prefix: 's3://lake-curated/orders_daily/ds=2026-03-01/',
      manifest: 's3://lake-curated/orders_daily/ds=2026-03-01/manifest',
      files,
      rowsUnloaded: 3,
      durationMs: null,
    });
    expect(redshift.commandCalls(ExecuteStatementCommand)[0]!.args[0].input.Sql).toBe(
      [
        "UNLOAD ('select region, count(*) from orders where day = ''2026-03-01'' group by 1')",
        "TO 's3://lake-curated/orders_daily/ds=2026-03-01/'",
        `IAM_ROLE '${ROLE}'`,
        'FORMAT AS PARQUET',
        'MANIFEST',
        'ALLOWOVERWRITE',
      ].join('\n'),
    );
  });
});

describe('redshiftSql', () => {
  it("runs the author's statements as one transaction and reports each statement's rows", async () => {
    redshift.on(BatchExecuteStatementCommand).resolves({ Id: 'stmt-7' });
    redshift.on(DescribeStatementCommand).resolves({
      Id: 'stmt-7',
      Status: 'FINISHED',
      SubStatements: [
        { Id: 'stmt-7:1', ResultRows: 12 },
        { Id: 'stmt-7:2', ResultRows: 40 },
      ],
    });
    const merge = redshiftSql({
      target,
      sql: (run) => [
        `delete from core.orders where order_date = '${run.ds}'`,
        'insert into core.orders select * from staging.orders',
      ],
      poll: { minPollMs: 10 },
    });
    const { done, output } = await runOne(merge);
    expect(done.state).toBe('success');
    expect(output).toEqual({ statementId: 'stmt-7', rows: [12, 40], durationMs: null });
    expect(redshift.commandCalls(BatchExecuteStatementCommand)[0]!.args[0].input.Sqls).toEqual([
      "delete from core.orders where order_date = '2026-03-01'",
      'insert into core.orders select * from staging.orders',
    ]);
  });
});

describe('re-attaching after a crash', () => {
  it('sends the same client token for every attempt of one try, and a new one for the next try', () => {
    const run = {
      dagId: 'd',
      runId: 'r',
      taskId: 't',
      tryNumber: 1,
      logicalDate: logical,
      dataIntervalStart: logical,
      dataIntervalEnd: logical,
      ds: '2026-03-01',
      dsNodash: '20260301',
      params: {},
    };
    const token = (tryNumber: number) =>
      statementRequest(target, ['select 1'], { ...run, tryNumber }).params.ClientToken;
    expect(token(1)).toBe(token(1));
    expect(token(2)).not.toBe(token(1));
  });
});
