/**
 * Managed Redis as production has it: TLS only (`rediss://`, a private CA the processes trust via
 * NODE_EXTRA_CA_CERTS), no default user, and an ACL user allowed only the keys under Runway's
 * hash-tagged prefix. Real `runway` processes trigger a run and a worker runs it to success: a key
 * outside the prefix, a plain-TCP connection or an unverified certificate would fail it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, findRedisServer } from '../runner/redis/redis-server.ts';
import { ensureCommand } from './helpers/debian.ts';
import { runCli } from './helpers/run-cli.ts';
import { killAllServices, startService, until } from './helpers/services.ts';

const DAGS = 'test/fixtures/runner-dags';
const PREFIX = '{managed}';
let folder: string;
let redis: ChildProcess;
let url: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'runway-tls-'));
  const cert = join(folder, 'cert.pem');
  const key = join(folder, 'key.pem');
  ensureCommand('openssl');
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
    ],
    { encoding: 'utf8' },
  );
  if (made.error || made.status !== 0) {
    throw new Error(`openssl could not make a test certificate: ${made.error ?? made.stderr}`);
  }
  const port = await freePort();
  redis = spawn(
    findRedisServer() ?? 'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '-::1', // localhost may resolve to either; '-' lets Redis go on where IPv6 is off
      '--tls-cert-file',
      cert,
      '--tls-key-file',
      key,
      '--tls-ca-cert-file',
      cert,
      '--tls-auth-clients',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
      '--hz',
      '100',
      '--user',
      'default',
      'off',
      '--user',
      'runway',
      'on',
      '>s3cret-acl-password',
      `~${PREFIX}*`,
      '&*',
      '+@all',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  redis.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  await until(
    'redis-server with TLS to start',
    async () => (/Ready to accept connections/.test(log) ? true : undefined),
    10_000,
  );
  // 127.0.0.1 by number in the URL would make TLS check the certificate against an IP; the
  // certificate names localhost, as a managed Redis's names its host.
  url = `rediss://runway:s3cret-acl-password@localhost:${port}`;
  env = { NODE_EXTRA_CA_CERTS: cert, REDIS_URL: url };
}, 120_000);

afterAll(async () => {
  killAllServices();
  redis?.kill('SIGKILL');
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe('managed Redis: TLS, an ACL user confined to the prefix, no default user', () => {
  it('triggers a run and has a worker run it to success', async () => {
    const common = ['--dags', DAGS, '--prefix', PREFIX];
    const trigger = await runCli(['dags', 'trigger', 'data_lake__ops', ...common], { env });
    // No worker yet: the run is created, and the trigger says nothing will take it for now.
    expect(trigger.stderr).toMatch(/^runway: warning: run manual__\S+: no worker is running .*\n$/);
    expect(trigger.code).toBe(0);

    const worker = startService(['worker', ...common], env);
    await until(
      'the run to succeed',
      async () => {
        const runs = await runCli(['runs', 'list', 'data_lake__ops', ...common], { env });
        return /\bsuccess\b/.test(runs.stdout) ? runs : undefined;
      },
      30_000,
    );
    expect(worker.output()).not.toMatch(/NOPERM|WRONGPASS|certificate|ECONNRESET/i);
    // The worker's heartbeat, inside the ACL: a trigger now finds it.
    const quiet = await runCli(['dags', 'trigger', 'data_lake__ops', ...common], { env });
    expect(quiet).toMatchObject({ code: 0, stderr: '' });

    // A client that cannot verify the server, or has the wrong password, is told why.
    const untrusted = await runCli(['runs', 'list', 'data_lake__ops', ...common], {
      env: { REDIS_URL: url, NODE_EXTRA_CA_CERTS: '' },
    });
    expect(untrusted).toMatchObject({ code: 1, stdout: '' });
    expect(untrusted.stderr).toMatch(
      /^runway: cannot reach Redis at rediss:\/\/runway:\*\*\*@localhost:\d+: self[- ]signed certificate \(a private CA\? point NODE_EXTRA_CA_CERTS at its certificate\)\n$/,
    );
    const wrongPassword = await runCli(['runs', 'list', 'data_lake__ops', ...common], {
      env: { ...env, REDIS_URL: url.replace('s3cret-acl-password', 'guess') },
    });
    expect(wrongPassword).toMatchObject({ code: 1, stdout: '' });
    expect(wrongPassword.stderr).toContain('WRONGPASS');
    expect(wrongPassword.stderr).not.toContain('guess');
    // The ACL does confine: the same user under another prefix is refused.
    const elsewhere = await runCli(['runs', 'list', 'data_lake__ops', '--dags', DAGS, '--prefix', '{other}'], { env });
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(
      /^runway: Redis answered: NOPERM .*\(the Redis user's ACL does not cover the keys under this --prefix\)\n$/,
    );
  }, 180_000);
});
