/** Which files are DAG files: the rule `runway validate`, `dags list` and the scheduler share. */
import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';

/** A path given to the validator does not exist: the caller's mistake, not a DAG's. */
export class DagPathError extends Error {
  override readonly name = 'DagPathError';
}

const DAG_FILE = /\.(ts|mts|js|mjs)$/;
const NOT_A_DAG = /(\.d\.ts|\.test\.ts|\.spec\.ts)$/;

/**
 * Files under `paths` that may declare a DAG: `.ts`, `.mts`, `.js`, `.mjs`; not declarations or
 * tests; not in `node_modules`; and not named with a leading `_` or `.` (helper modules and
 * folders shared by DAGs, like `dags/_lib/`).
 */
export async function findDagFiles(
  paths: readonly string[],
  cwd: string,
): Promise<{ file: string; absolutePath: string }[]> {
  const found = new Set<string>();
  const visit = async (absolute: string, explicit: boolean): Promise<void> => {
    const info = await stat(absolute).catch(() => undefined);
    if (!info) {
      if (explicit) throw new DagPathError(`${relative(cwd, absolute) || absolute}: no such file or folder`);
      return;
    }
    if (info.isDirectory()) {
      const entries = await readdir(absolute);
      for (const entry of entries.sort()) {
        if (entry.startsWith('_') || entry.startsWith('.') || entry === 'node_modules') continue;
        await visit(join(absolute, entry), false);
      }
    } else if (explicit || (DAG_FILE.test(absolute) && !NOT_A_DAG.test(absolute))) {
      found.add(absolute);
    }
  };
  for (const path of paths) await visit(resolve(cwd, path), true);
  return [...found].map((absolutePath) => ({ file: relative(cwd, absolutePath) || absolutePath, absolutePath }));
}
