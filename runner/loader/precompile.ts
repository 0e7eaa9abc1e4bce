/**
 * Transforms DAG files from TypeScript in one esbuild build, on all cores, while the import
 * children start, so a cold validation (every CI run) does not pay one esbuild round trip and one
 * cache write per file inside each child. Files esbuild rejects are left to tsx, which reports the
 * same syntax error, with its line, at import.
 */
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type BuildFailure } from 'esbuild';
import { isAlive, PID_NAMESPACE } from './process-sweep.ts';
import { SELF_CONTAINED } from './import-protocol.ts';

/** One file, `{ [absolute path]: source }`: a thousand small files cost a second to create. */
export const PRECOMPILED_SOURCES = 'sources.json';

/**
 * A module that may reach TypeScript besides itself: a relative, absolute or file: import (a
 * helper), an import whose specifier is computed, or require().
 */
const REACHES_FILES =
  /\b(?:from|import)\s*["'](?:\.|\/|file:)|\bimport\s*\(\s*(?!["'][^"'./][^"']*["']\s*\))|\brequire\s*\(/;

export function isSelfContained(compiled: string): boolean {
  return !REACHES_FILES.test(compiled);
}
/** A larger file is left to tsx in its child: its source never sits in the validator's memory. */
const PRECOMPILED_MAX_BYTES = 1_048_576;
/**
 * `runway-dags-<PID namespace>-<validator pid>-<random>`: the pid says whether the folder's owner
 * is still running, where the namespace is this one.
 */
const FOLDER_PREFIX = `runway-dags-${PID_NAMESPACE}-`;

export async function makePrecompiledDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  await removeFoldersOfDeadValidators();
  const dir = await mkdtemp(join(tmpdir(), `${FOLDER_PREFIX}${process.pid}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A validator killed (SIGKILL, OOM, a CI timeout) could not remove its folder: the next one does. */
async function removeFoldersOfDeadValidators(): Promise<void> {
  const entries = await readdir(tmpdir()).catch(() => [] as string[]);
  await Promise.all(
    entries.map(async (entry) => {
      const owner = new RegExp(`^${FOLDER_PREFIX}(\\d+)-`).exec(entry);
      if (owner && !isAlive(Number(owner[1]))) {
        // Another user's folder (a shared /tmp) is not ours to remove: leave it.
        await rm(join(tmpdir(), entry), { recursive: true, force: true }).catch(() => undefined);
      }
    }),
  );
}

export async function precompileDagFiles(files: readonly string[], dir: string): Promise<void> {
  const small = await Promise.all(
    files.map(async (file) => ((await stat(file).catch(() => undefined))?.size ?? Infinity) <= PRECOMPILED_MAX_BYTES),
  );
  let entryPoints = files.filter((file, i) => small[i] && /\.m?ts$/.test(file));
  // A build fails whole on one bad file: drop the files it names and build the rest again.
  for (let attempt = 0; attempt < 3 && entryPoints.length > 0; attempt++) {
    try {
      const result = await build({
        entryPoints,
        bundle: false,
        write: false,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        sourcemap: 'inline',
        outdir: join(dir, 'out'),
        outbase: '/',
        logLevel: 'silent',
      });
      const sources = Object.fromEntries(result.outputFiles.map((output, i) => [entryPoints[i], output.text]));
      await writeFile(join(dir, PRECOMPILED_SOURCES), JSON.stringify(sources));
      const selfContained = entryPoints.filter((_, i) => isSelfContained(result.outputFiles[i]!.text));
      await writeFile(join(dir, SELF_CONTAINED), JSON.stringify(selfContained));
      return;
    } catch (error) {
      const rejected = new Set((error as BuildFailure).errors?.map((e) => e.location?.file) ?? []);
      if (rejected.size === 0) return;
      entryPoints = entryPoints.filter((file) => !rejected.has(file));
    }
  }
}
