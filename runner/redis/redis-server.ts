/**
 * Starts a private `redis-server` on loopback: for tests, `runway standalone` and `runway dags test`.
 * `hz` is raised from Redis's default 10 to 100 because BullMQ's delayed jobs (retries, sensor
 * pokes) are promoted on Redis's timer: measured ~96 ms late at hz 10, ~8 ms at hz 100.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export interface RedisServerOptions {
  /** @defaultValue a free port */
  port?: number;
  /** Data folder; with `persistence` the AOF lives here. @defaultValue a temporary folder's cwd */
  dir?: string;
  /** AOF with fsync every second (the production setting); off for tests. @defaultValue false */
  persistence?: boolean;
  /** @defaultValue 100 */
  hz?: number;
  /** @defaultValue redis-server on the PATH */
  binary?: string;
}

export interface RedisServer {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export class RedisSetupError extends Error {
  override readonly name = 'RedisSetupError';
}

export const REDIS_INSTALL_HINT =
  'redis-server is not installed. On Debian or Ubuntu: sudo apt-get install -y redis-server (or set REDIS_URL to a Redis you run)';

/**
 * Finds redis-server, installing Debian's package when it is missing and this process may
 * (root, with apt-get). Otherwise the error says exactly how to install it.
 */
export function ensureRedisServer(log: (message: string) => void = () => undefined): string {
  const found = findRedisServer();
  if (found) return found;
  const canInstall = process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0;
  if (!canInstall) throw new RedisSetupError(REDIS_INSTALL_HINT);
  log('redis-server is missing: installing the Debian package redis-server');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const install = spawnSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: 'inherit', env });
  const installed = findRedisServer();
  if (update.status !== 0 || install.status !== 0 || !installed) {
    throw new RedisSetupError(`installing redis-server with apt-get failed. ${REDIS_INSTALL_HINT}`);
  }
  return installed;
}

export function findRedisServer(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = (found.stdout ?? '').trim();
  return found.status === 0 && path ? path : undefined;
}

/** A TCP port nobody listens on right now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = options.binary ?? findRedisServer();
  if (!binary) throw new RedisSetupError(REDIS_INSTALL_HINT);
  const port = options.port ?? (await freePort());
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--protected-mode',
    'yes',
    '--hz',
    String(options.hz ?? 100),
    '--save',
    '',
    '--maxmemory-policy',
    'noeviction',
    '--appendonly',
    options.persistence ? 'yes' : 'no',
    ...(options.persistence ? ['--appendfsync', 'everysec'] : []),
    ...(options.dir ? ['--dir', options.dir] : []),
  ];
  // A process group of its own: a terminal's Ctrl-C goes to the whole foreground group, and Redis
  // must outlive the worker's grace period; Runway stops it last.
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
  const url = `redis://127.0.0.1:${port}`;
  try {
    await waitForPing(url, child, () => output);
  } catch (error) {
    child.kill('SIGKILL');
    if (/Address already in use/i.test(output)) {
      throw new RedisSetupError(`port ${port} is already in use: pick another with --redis-port, or set REDIS_URL`);
    }
    throw error;
  }
  // If this process ends any other way than stop() (a crash, an EPIPE), take redis-server with it.
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  return {
    url,
    port,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        process.off('exit', killOnExit);
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function waitForPing(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new RedisSetupError(`redis-server exited at start (code ${child.exitCode}): ${output().trim()}`);
    }
    // Timeouts: whatever else listens on the port (not Redis) must not hold this process open.
    const client = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 1_000,
      commandTimeout: 1_000,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch {
      // not listening yet
    } finally {
      client.disconnect();
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new RedisSetupError(`redis-server did not answer within 10 s: ${output().trim()}`);
}
