/** The Glue crawler operator, run by a real worker, against recorded Glue response sequences. */
import {
  CreateCrawlerCommand,
  GetCrawlerCommand,
  GetCrawlerMetricsCommand,
  GlueClient,
  GlueServiceException,
  StartCrawlerCommand,
  StopCrawlerCommand,
  UpdateCrawlerCommand,
  type Crawler,
} from '@aws-sdk/client-glue';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dag } from 'runway';
import { glueCrawler, type GlueCrawlerOptions } from '../operators/index.ts';
import { testAwsClients } from './helpers/aws-clients.ts';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';

const aws = testAwsClients();
const glue = mockClient(GlueClient);
let runway: TestRunway;
beforeEach(() => glue.reset());
afterEach(async () => runway?.close());

const earlier = new Date('2026-03-01T01:00:00Z');
const ours = new Date('2026-03-01T02:00:00Z');
const crawler = (state: string, last?: { status: string; start: Date; error?: string }): { Crawler: Crawler } => ({
  Crawler: {
    Name: 'lake_curated',
    State: state as never,
    Role: 'arn:aws:iam::123456789012:role/glue-crawler',
    DatabaseName: 'curated',
    Targets: { S3Targets: [{ Path: 's3://lake-curated/orders_daily/' }] },
    ...(last ? { LastCrawl: { Status: last.status as never, StartTime: last.start, ErrorMessage: last.error } } : {}),
  },
});
const glueError = (name: string, message: string) =>
  new GlueServiceException({ name, $fault: 'client', $metadata: {}, message });

async function runCrawler(options: Partial<GlueCrawlerOptions> = {}, spec: object = {}) {
  const d = dag({ ...manualDag, id: 'data_lake__crawl' }).task(
    'crawl',
    spec,
    glueCrawler({ name: 'lake_curated', pollEvery: '10ms', ...options }),
  );
  runway = testRunway([d]);
  runway.worker({ aws });
  const run = await runway.trigger('data_lake__crawl');
  const done = await runway.waitForRun('data_lake__crawl', run.runId);
  const ti = (await runway.engine.store.snapshot('data_lake__crawl', run.runId)).crawl!;
  const output = (await runway.engine.store.outputs('data_lake__crawl', run.runId, ['crawl'])).crawl;
  return { done, ti, output };
}

describe('glueCrawler', () => {
  it('starts the crawler, waits RUNNING -> STOPPING -> READY, and reports its own crawl with metrics', async () => {
    glue
      .on(GetCrawlerCommand)
      .resolvesOnce(crawler('READY', { status: 'SUCCEEDED', start: earlier }))
      .resolvesOnce(crawler('RUNNING', { status: 'SUCCEEDED', start: earlier }))
      .resolvesOnce(crawler('STOPPING', { status: 'SUCCEEDED', start: earlier }))
      .resolves(crawler('READY', { status: 'SUCCEEDED', start: ours }));
    glue.on(StartCrawlerCommand).resolves({});
    glue.on(GetCrawlerMetricsCommand).resolves({
      CrawlerMetricsList: [{ CrawlerName: 'lake_curated', TablesCreated: 1, TablesUpdated: 3, TablesDeleted: 0 }],
    });
    const { done, output } = await runCrawler();
    expect(done.state).toBe('success');
    expect(output).toEqual({
      crawler: 'lake_curated',
      status: 'SUCCEEDED',
      tablesCreated: 1,
      tablesUpdated: 3,
      tablesDeleted: 0,
    });
    expect(glue.commandCalls(StartCrawlerCommand).map((c) => c.args[0].input)).toEqual([{ Name: 'lake_curated' }]);
    expect(glue.commandCalls(GetCrawlerMetricsCommand)[0]!.args[0].input).toEqual({
      CrawlerNameList: ['lake_curated'],
    });
  });

  it.each([
    ['FAILED', 'Glue crawler lake_curated failed: Internal Service Exception'],
    ['CANCELLED', 'Glue crawler lake_curated was cancelled'],
  ])("fails when its crawl ends %s, with Glue's message", async (status, message) => {
    glue
      .on(GetCrawlerCommand)
      .resolvesOnce(crawler('READY'))
      .resolvesOnce(crawler('RUNNING'))
      .resolves(crawler('READY', { status, start: ours, error: 'Internal Service Exception' }));
    glue.on(StartCrawlerCommand).resolves({});
    const { done, ti } = await runCrawler();
    expect(done.state).toBe('failed');
    expect(ti.error).toBe(message);
  });

  it.each([
    ['CrawlerRunningException', 'Crawler with name lake_curated has already started'],
    ['InvalidInputException', 'Crawler with name lake_curated is running'],
  ])('waits for a crawl already running (%s), then starts a fresh one', async (name, message) => {
    glue
      .on(GetCrawlerCommand)
      .resolvesOnce(crawler('RUNNING', { status: 'SUCCEEDED', start: earlier }))
      .resolvesOnce(crawler('RUNNING', { status: 'SUCCEEDED', start: earlier }))
      .resolvesOnce(crawler('READY', { status: 'SUCCEEDED', start: new Date('2026-03-01T01:30:00Z') }))
      .resolvesOnce(crawler('RUNNING', { status: 'SUCCEEDED', start: new Date('2026-03-01T01:30:00Z') }))
      .resolves(crawler('READY', { status: 'SUCCEEDED', start: ours }));
    glue.on(StartCrawlerCommand).rejectsOnce(glueError(name, message)).resolves({});
    glue
      .on(GetCrawlerMetricsCommand)
      .resolves({ CrawlerMetricsList: [{ TablesCreated: 0, TablesUpdated: 1, TablesDeleted: 0 }] });
    const { done, output } = await runCrawler();
    expect(done.state).toBe('success');
    expect(glue.commandCalls(StartCrawlerCommand)).toHaveLength(2);
    expect(output).toMatchObject({ status: 'SUCCEEDED', tablesUpdated: 1 });
  });

  it('only waits for the running crawl with whenRunning: wait-only', async () => {
    glue
      .on(GetCrawlerCommand)
      .resolvesOnce(crawler('RUNNING', { status: 'SUCCEEDED', start: earlier }))
      .resolves(crawler('READY', { status: 'SUCCEEDED', start: ours }));
    glue.on(StartCrawlerCommand).rejects(glueError('CrawlerRunningException', 'already running'));
    glue.on(GetCrawlerMetricsCommand).resolves({ CrawlerMetricsList: [{}] });
    const { done } = await runCrawler({ whenRunning: 'wait-only' });
    expect(done.state).toBe('success');
    expect(glue.commandCalls(StartCrawlerCommand)).toHaveLength(1);
  });

  const config = {
    role: 'arn:aws:iam::123456789012:role/glue-crawler',
    databaseName: 'curated',
    s3Targets: [{ path: 's3://lake-curated/orders_daily/' }],
  };

  it('creates a missing crawler from its config, and updates one only when it differs', async () => {
    glue
      .on(GetCrawlerCommand)
      .rejectsOnce(glueError('EntityNotFoundException', 'Crawler entry with name lake_curated does not exist'))
      .resolvesOnce(crawler('READY'))
      .resolves(crawler('READY', { status: 'SUCCEEDED', start: ours }));
    glue.on(StartCrawlerCommand).resolves({});
    glue.on(GetCrawlerMetricsCommand).resolves({ CrawlerMetricsList: [{}] });
    glue.on(CreateCrawlerCommand).resolves({});
    expect((await runCrawler({ config })).done.state).toBe('success');
    expect(glue.commandCalls(CreateCrawlerCommand)[0]!.args[0].input).toEqual({
      Name: 'lake_curated',
      Role: config.role,
      DatabaseName: 'curated',
      Targets: { S3Targets: [{ Path: 's3://lake-curated/orders_daily/' }] },
    });
    expect(glue.commandCalls(UpdateCrawlerCommand)).toHaveLength(0);
    await runway.close();

    glue.reset();
    glue
      .on(GetCrawlerCommand)
      .resolvesOnce(crawler('READY'))
      .resolves(crawler('READY', { status: 'SUCCEEDED', start: ours }));
    glue.on(StartCrawlerCommand).resolves({});
    glue.on(GetCrawlerMetricsCommand).resolves({ CrawlerMetricsList: [{}] });
    glue.on(UpdateCrawlerCommand).resolves({});
    expect((await runCrawler({ config })).done.state).toBe('success');
    expect(glue.commandCalls(UpdateCrawlerCommand)).toHaveLength(0);
    await runway.close();

    glue.reset();
    glue
      .on(GetCrawlerCommand)
      .resolvesOnce(crawler('READY'))
      .resolves(crawler('READY', { status: 'SUCCEEDED', start: ours }));
    glue.on(StartCrawlerCommand).resolves({});
    glue.on(GetCrawlerMetricsCommand).resolves({ CrawlerMetricsList: [{}] });
    glue.on(UpdateCrawlerCommand).resolves({});
    expect((await runCrawler({ config: { ...config, databaseName: 'curated_v2' } })).done.state).toBe('success');
    expect(glue.commandCalls(UpdateCrawlerCommand)[0]!.args[0].input).toMatchObject({ DatabaseName: 'curated_v2' });
  });

  it('stops the crawl it started when the try times out', async () => {
    glue.on(GetCrawlerCommand).resolvesOnce(crawler('READY')).resolves(crawler('RUNNING'));
    glue.on(StartCrawlerCommand).resolves({});
    glue.on(StopCrawlerCommand).resolves({});
    const { done, ti } = await runCrawler({}, { executionTimeout: '200ms' });
    expect(done.state).toBe('failed');
    expect(ti.error).toBe('timed out after 200 ms');
    await expect
      .poll(() => glue.commandCalls(StopCrawlerCommand).map((c) => c.args[0].input))
      .toEqual([{ Name: 'lake_curated' }]);
  });
});

describe('glueCrawler in reschedule mode', () => {
  it('starts once, looks between pokes holding no worker slot, and reports its own crawl', async () => {
    glue
      .on(GetCrawlerCommand)
      .resolvesOnce(crawler('READY', { status: 'SUCCEEDED', start: earlier }))
      .resolvesOnce(crawler('RUNNING', { status: 'SUCCEEDED', start: earlier }))
      .resolves(crawler('READY', { status: 'SUCCEEDED', start: ours }));
    glue.on(StartCrawlerCommand).resolves({});
    glue
      .on(GetCrawlerMetricsCommand)
      .resolves({ CrawlerMetricsList: [{ TablesCreated: 2, TablesUpdated: 0, TablesDeleted: 0 }] });
    const { done, output } = await runCrawler({ reschedule: { timeout: '1m' } });
    expect(done.state).toBe('success');
    expect(output).toMatchObject({ status: 'SUCCEEDED', tablesCreated: 2 });
    expect(glue.commandCalls(StartCrawlerCommand)).toHaveLength(1);
  });

  it('stops its own crawl when the sensor times out', async () => {
    glue.on(GetCrawlerCommand).resolvesOnce(crawler('READY')).resolves(crawler('RUNNING'));
    glue.on(StartCrawlerCommand).resolves({});
    glue.on(StopCrawlerCommand).resolves({});
    const { done, ti } = await runCrawler({ reschedule: { timeout: '200ms' } });
    expect(done.state).toBe('failed');
    expect(ti.error).toMatch(/^sensor timed out after \d+ ms/);
    expect(glue.commandCalls(StopCrawlerCommand).map((c) => c.args[0].input)).toEqual([{ Name: 'lake_curated' }]);
  });
});
