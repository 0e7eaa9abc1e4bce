/**
 * Tools the tests drive that come from Debian (chromium, openssl), installed with apt-get when
 * missing and this process may (root), as the tests do for redis-server: `npm test` alone works on
 * a fresh machine.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function canInstall(): boolean {
  return process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0;
}

function aptInstall(pkg: string): void {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  spawnSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'inherit', env });
}

/** The Chromium the web UI test drives: $CHROMIUM_PATH, else Debian's /usr/bin/chromium. */
export function ensureChromium(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (existsSync(path)) return path;
  if (!canInstall() || process.env.CHROMIUM_PATH) {
    throw new Error(`${path} is missing: install it with \`sudo apt-get install -y chromium\`, or set CHROMIUM_PATH`);
  }
  aptInstall('chromium');
  if (!existsSync(path)) throw new Error('installing chromium with apt-get failed');
  return path;
}

/** A command on the PATH from the Debian package of the same name (openssl, say). */
export function ensureCommand(command: string): void {
  const present = () => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
  if (present()) return;
  if (!canInstall()) throw new Error(`${command} is missing: install it with \`sudo apt-get install -y ${command}\``);
  aptInstall(command);
  if (!present()) throw new Error(`installing ${command} with apt-get failed`);
}
