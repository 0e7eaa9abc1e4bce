/**
 * Where a running `runway standalone` listens, for the other verbs to find: standalone writes
 * `<data dir>/standalone.json` (Redis URL, web UI URL, pid) once it is up and removes it on a clean
 * exit; a CLI verb given neither `--redis-url` nor `REDIS_URL` looks for `.runway/standalone.json`
 * in the current folder and its parents, and ignores it when its pid is dead (a standalone killed).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { isAlive } from '../loader/process-sweep.ts';

export const STANDALONE_FILE = 'standalone.json';

const addressSchema = z.object({
  redisUrl: z.string().min(1),
  webUrl: z.string().min(1),
  pid: z.number().int().positive(),
  prefix: z.string().min(1),
  startedAt: z.string(),
});

export type StandaloneAddress = z.infer<typeof addressSchema>;

/** Writes the address; the function returned removes it (only if it is still this process's). */
export async function writeStandaloneAddress(
  dataDir: string,
  address: StandaloneAddress,
): Promise<() => Promise<void>> {
  const path = resolve(dataDir, STANDALONE_FILE);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(address, null, 2)}\n`);
  return async () => {
    if (readAddress(path)?.pid === address.pid) await rm(path, { force: true });
  };
}

/** The address of a standalone still running, from `.runway/standalone.json` here or in a parent folder. */
export function findStandaloneAddress(cwd = process.cwd()): { address: StandaloneAddress; path: string } | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const path = join(dir, '.runway', STANDALONE_FILE);
    const address = existsSync(path) ? readAddress(path) : undefined;
    if (address && isAlive(address.pid)) return { address, path };
    if (dirname(dir) === dir) return undefined;
  }
}

function readAddress(path: string): StandaloneAddress | undefined {
  try {
    const parsed = addressSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
