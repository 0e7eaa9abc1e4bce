/**
 * The Chromium the web UI test drives: $CHROMIUM_PATH, else Debian's /usr/bin/chromium, installed
 * with apt-get when missing and possible (root), as the tests do for redis-server.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function ensureChromium(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (existsSync(path)) return path;
  const canInstall = process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0;
  if (!canInstall || process.env.CHROMIUM_PATH) {
    throw new Error(`${path} is missing: install it with \`sudo apt-get install -y chromium\`, or set CHROMIUM_PATH`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  spawnSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env });
  if (!existsSync(path)) throw new Error('installing chromium with apt-get failed');
  return path;
}
