/**
 * Secrets never written: a run under real `runway scheduler` and `runway worker` processes uses AWS
 * keys, a Secrets Manager ARN (sent to a local stand-in of the Redshift Data API), a password-
 * protected Redis and a Slack webhook; then everything written is searched for them: the services'
 * output, the CLI's, the web UI's API and metrics, and every key and value in Redis (task states,
 * outputs, logs, queue jobs).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../runner/redis/redis-server.ts';
import { runCli } from '../helpers/run-cli.ts';
import { killAllServices, startService, until } from '../helpers/services.ts';

const DAGS = 'test/fixtures/secrets-dags';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:warehouse-Xk3SECRETARN';
const AWS_KEY_ID = 'AKIAZZSECRETKEYID777';
const AWS_SECRET = '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';
const REDIS_PASSWORD = `pw-${randomUUID()}`;
const WEBHOOK_TOKEN = `xoxb-${randomUUID()}`;

const servers: Server[] = [];
let redisServer: RedisServer | undefined;
afterAll(async () => {
  killAllServices();
  for (const server of servers) server.close();
  await redisServer?.stop();
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** What the Redshift Data API answers: the statement is accepted, then fails as Redshift says. */
async function fakeRedshiftData(requests: Record<string, unknown>[]): Promise<string> {
  return listen((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const action = String(req.headers['x-amz-target']).split('.')[1];
      requests.push({ action, ...(JSON.parse(body || '{}') as Record<string, unknown>) });
      const reply =
        action === 'ExecuteStatement'
          ? { Id: 'd9b6c0c7-8f3b-4f0e-9a52-3f1d1c1e0a01', WorkgroupName: 'analytics', Database: 'dev' }
          : action === 'DescribeStatement'
            ? {
                Id: 'd9b6c0c7-8f3b-4f0e-9a52-3f1d1c1e0a01',
                Status: 'FAILED',
                Error: 'ERROR: permission denied for relation orders',
                QueryString: 'insert into staging.orders select * from landing.orders',
                HasResultSet: false,
              }
            : { Status: true };
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(reply));
    });
  });
}

/** Every key and value under Runway's prefix, as text. */
async function dumpRedis(url: string): Promise<string> {
  const redis = new Redis(url);
  const parts: string[] = [];
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', '1000');
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        const value =
          type === 'string'
            ? await redis.get(key)
            : type === 'hash'
              ? await redis.hgetall(key)
              : type === 'list'
                ? await redis.lrange(key, 0, -1)
                : type === 'set'
                  ? await redis.smembers(key)
                  : type === 'zset'
                    ? await redis.zrange(key, '0', '-1', 'WITHSCORES')
                    : type === 'stream'
                      ? await redis.xrange(key, '-', '+')
                      : null;
        parts.push(`${key} ${JSON.stringify(value)}`);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return parts.join('\n');
}

describe('secrets', () => {
  it('appear in no log, output, CLI text or Redis value written during a run', async () => {
    redisServer = await startRedisServer();
    const admin = new Redis(redisServer.url);
    await admin.config('SET', 'requirepass', REDIS_PASSWORD);
    admin.disconnect();
    const redisUrl = `redis://:${REDIS_PASSWORD}@127.0.0.1:${redisServer.port}`;

    const redshiftRequests: Record<string, unknown>[] = [];
    const slack: string[] = [];
    const redshiftEndpoint = await fakeRedshiftData(redshiftRequests);
    const slackBase = await listen((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        slack.push(`${req.url} ${body}`);
        res.end('ok');
      });
    });
    const env = {
      AWS_ACCESS_KEY_ID: AWS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: AWS_SECRET,
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_REDSHIFT_DATA: redshiftEndpoint,
      SLACK_WEBHOOK: `${slackBase}/services/T000/B000/${WEBHOOK_TOKEN}`,
      REDIS_URL: redisUrl,
    };
    const prefix = '{secrets}';
    const common = ['--dags', DAGS, '--prefix', prefix];
    const scheduler = startService(['scheduler', ...common, '--tick', '200'], env);
    const worker = startService(['worker', ...common], env);
    await Promise.all([scheduler.waitFor(/scheduler started/), worker.waitFor(/worker started/)]);

    const cli: string[] = [];
    const run = async (args: string[]) => {
      const result = await runCli([...args, ...common], { env });
      cli.push(result.stdout, result.stderr);
      return result;
    };
    const trigger = await run(['dags', 'trigger', 'data_lake__secrets']);
    const runId = /manual__\S+/.exec(trigger.stdout)![0];
    await until(
      'the run to fail',
      async () => ((await run(['runs', 'list', 'data_lake__secrets'])).stdout.includes('failed') ? true : undefined),
      60_000,
    );
    await until('Slack to be notified', async () => (slack.length > 0 ? true : undefined), 10_000);
    await run(['tasks', 'states', 'data_lake__secrets', runId]);
    await run(['tasks', 'logs', 'data_lake__secrets', runId, 'load_orders']);
    await run(['tasks', 'logs', 'data_lake__secrets', runId, 'prepare']);

    const webserver = startService(['webserver', ...common, '--port', '0'], env);
    await webserver.waitFor(/webserver on http:\/\/\S+/);
    const ui = /webserver on (http:\/\/[^\s"]+)/.exec(webserver.output())![1]!;
    const pages = await Promise.all(
      [
        '/api/dags',
        '/api/dags/data_lake__secrets/grid',
        `/api/dags/data_lake__secrets/runs/${encodeURIComponent(runId)}`,
        `/api/dags/data_lake__secrets/runs/${encodeURIComponent(runId)}/tasks/load_orders`,
        `/api/dags/data_lake__secrets/runs/${encodeURIComponent(runId)}/tasks/prepare`,
        '/metrics',
      ].map(async (path) => `${path} ${await (await fetch(`${ui}${path}`)).text()}`),
    );
    const written = {
      'web UI API and metrics': pages.join('\n'),
      'scheduler output': scheduler.output(),
      'worker output': worker.output(),
      'CLI output': cli.join('\n'),
      'Redis keys and values': await dumpRedis(redisUrl),
    };
    const secrets = { SECRET_ARN, AWS_KEY_ID, AWS_SECRET, REDIS_PASSWORD, WEBHOOK_TOKEN };
    const leaks = Object.entries(written).flatMap(([where, text]) =>
      Object.entries(secrets)
        .filter(([, secret]) => text.includes(secret))
        .map(([name]) => `${name} in ${where}`),
    );
    console.log(
      [
        'secrets: AWS key id and secret key, a Secrets Manager ARN, a Redis password, a Slack webhook token',
        `  used: Redshift Data API called ${redshiftRequests.length} times with SecretArn ${redshiftRequests.some((r) => r.SecretArn === SECRET_ARN) ? 'sent' : 'NOT sent'}; Slack posted ${slack.length} time(s)`,
        `  searched: ${Object.entries(written)
          .map(([where, text]) => `${where} (${text.length} chars)`)
          .join(', ')}`,
        `  found: ${leaks.length === 0 ? 'none' : leaks.join('; ')}`,
      ].join('\n'),
    );
    // The secrets were really used, so their absence means something.
    expect(redshiftRequests.some((r) => r.action === 'ExecuteStatement' && r.SecretArn === SECRET_ARN)).toBe(true);
    expect(slack.some((s) => s.includes(WEBHOOK_TOKEN))).toBe(true);
    expect(written['CLI output']).toContain('permission denied for relation orders');
    expect(leaks).toEqual([]);
  }, 120_000);
});
