/**
 * The deploy loop end to end, with real processes on s3rver and Redis: `runway deploy` the example
 * DAGs; a `runway scheduler` and a `runway worker` reading them from S3 run one to success; deploy
 * again with that DAG changed and another removed; the same processes, never restarted, pick up both.
 */
import { randomUUID } from 'node:crypto';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DagRegistry } from '../runner/loader/dag-registry.ts';
import { Engine } from '../runner/state/engine.ts';
import { isRunFinished } from '../runner/core/model.ts';
import { connectRedis } from '../runner/redis/connect.ts';
import { REPO_ROOT, runCli } from './helpers/run-cli.ts';
import { redisUrl } from './helpers/runway.ts';
import { startLocalS3, type LocalS3 } from './helpers/s3rver.ts';
import { killAllServices, startService, until, type Service } from './helpers/services.ts';

const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
const prefix = `{deploy-e2e-${randomUUID().slice(0, 8)}}`;
const checkout = join(REPO_ROOT, '.runway', `e2e-${randomUUID().slice(0, 8)}`);
let s3: LocalS3;
let to: string;

function service(verb: 'scheduler' | 'worker'): Service {
  return startService(
    [
      verb,
      '--dags',
      to,
      '--s3-endpoint',
      s3.endpoint,
      '--reload-interval',
      '1',
      '--redis-url',
      redisUrl(),
      '--prefix',
      prefix,
      ...(verb === 'scheduler' ? ['--tick', '200'] : []),
    ],
    env,
  );
}

beforeAll(async () => {
  s3 = await startLocalS3();
  await s3.createBucket('mwaa-dags');
  to = `s3://mwaa-dags/${randomUUID().slice(0, 8)}`;
});
afterAll(async () => {
  killAllServices();
  await s3?.close();
  await rm(checkout, { recursive: true, force: true });
});

describe('deploying DAGs to a running scheduler', () => {
  it('runs the deployed DAGs, then picks up a changed and a removed DAG without a restart', async () => {
    const first = await runCli(['deploy', '--to', to, '--endpoint', s3.endpoint], { env });
    expect(first.stderr).not.toMatch(/runway:/);
    expect(first.code).toBe(0);

    // Only the local demo may run here: the others need AWS.
    const redis = connectRedis(redisUrl());
    const engine = new Engine({ redis, registry: new DagRegistry(), prefix, env: {} });
    for (const dagId of [
      'data_lake__events_nightly',
      'redshift_demo__orders_daily',
      'demo__firehose_local',
      'demo__events_landing',
      'demo__events_report',
    ])
      await engine.store.setPaused(dagId, true);

    const scheduler = service('scheduler');
    const worker = service('worker');
    await scheduler.waitFor(/scheduler started: 8 DAG\(s\)/);
    await worker.waitFor(/worker started/);

    const runOnce = async (): Promise<number> => {
      const trigger = await runCli(
        [
          'dags',
          'trigger',
          'demo__local_pipeline',
          '--dags',
          to,
          '--s3-endpoint',
          s3.endpoint,
          '--redis-url',
          redisUrl(),
          '--prefix',
          prefix,
        ],
        { env },
      );
      expect(trigger.stderr).not.toMatch(/runway:/);
      const runId = /manual__\S+/.exec(trigger.stdout)![0];
      const run = await until('the run to finish', async () => {
        const r = await engine.store.getRun('demo__local_pipeline', runId);
        return r && isRunFinished(r.state) ? r : undefined;
      });
      expect(run.state).toBe('success');
      const outputs = await engine.store.outputs('demo__local_pipeline', runId, ['generate_orders']);
      return (outputs.generate_orders as unknown[]).length;
    };
    expect(await runOnce()).toBe(20);

    // A second commit: the demo makes 30 orders, and the Firehose demo is gone.
    await cp(join(REPO_ROOT, 'dags'), join(checkout, 'dags'), { recursive: true });
    const changed = join(checkout, 'dags', 'demo__local_pipeline.ts');
    const source = await readFile(changed, 'utf8');
    expect(source).toContain('length: 20');
    await writeFile(changed, source.replace('length: 20', 'length: 30'));
    await rm(join(checkout, 'dags', 'demo__firehose_local.ts'));
    const second = await runCli(
      ['deploy', '--dags', join(checkout, 'dags'), '--to', to, '--endpoint', s3.endpoint, '--delete'],
      { env },
    );
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/changed: +demo__local_pipeline\n/);
    expect(second.stdout).toMatch(/removed: +demo__firehose_local\n/);
    expect(second.stdout).toMatch(/unchanged: 6\n/);

    const reloaded =
      /updated demo__local_pipeline \(from their next task\); removed demo__firehose_local \(running runs finish, no new ones\)/;
    await scheduler.waitFor(reloaded);
    await worker.waitFor(reloaded);
    expect(await runOnce()).toBe(30);
    expect(scheduler.output()).not.toMatch(/ERROR|"level":"error"/);

    await engine.close();
    redis.disconnect();
  }, 180_000);
});
