/** Which files are DAG files: the rule `runway validate`, `dags list` and the scheduler share. */
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';

/** A path given to the validator does not exist: the caller's mistake, not a DAG's. */
export class DagPathError extends Error {
  override readonly name = 'DagPathError';
}

const DAG_FILE = /\.(ts|mts|js|mjs)$/;
const NOT_A_DAG = /(\.d\.ts|\.test\.ts|\.spec\.ts)$/;

export interface FoundDagFile {
  /** The path as shown to people: relative to `cwd` where possible. */
  file: string;
  absolutePath: string;
}

/** A symbolic link met inside a folder and not followed, and why. */
export interface SkippedLink {
  file: string;
  reason: string;
}

/**
 * Files under `paths` that may declare a DAG: `.ts`, `.mts`, `.js`, `.mjs`; not declarations or
 * tests; not in `node_modules`; and not named with a leading `_` or `.` (helper modules and
 * folders shared by DAGs, like `dags/_lib/`).
 */
export async function findDagFiles(paths: readonly string[], cwd: string): Promise<FoundDagFile[]> {
  return (await discoverDagFiles(paths, cwd)).files;
}

/**
 * `findDagFiles`, and the links it did not follow. A path given is followed even if it is a link;
 * inside a folder, a link is followed only if it leads to something inside that folder that is not
 * found otherwise: never out of the folder, into a folder being walked (a loop), or to a file
 * already found (a second copy of the same DAG). Only regular files are DAG files (not a FIFO or
 * a device, which would block the import).
 */
export async function discoverDagFiles(
  paths: readonly string[],
  cwd: string,
): Promise<{ files: FoundDagFile[]; skipped: SkippedLink[] }> {
  const found = new Map<string, string>(); // real path -> the path it was found at
  const walked = new Set<string>(); // real paths of folders walked
  const skipped: SkippedLink[] = [];
  const shown = (absolute: string) => relative(cwd, absolute) || absolute;
  const inside = (real: string, root: string) => real === root || real.startsWith(root + sep);

  // Links are followed after the folder's own files and folders, so a DAG is shown at its real place.
  let deferred: { absolute: string; root: string }[] = [];

  const isDagFile = (absolute: string) => DAG_FILE.test(absolute) && !NOT_A_DAG.test(absolute);

  /** A folder whose real path is `real`: its entries' types come with the listing, no stat each. */
  const walk = async (absolute: string, real: string, root: string): Promise<void> => {
    if (walked.has(real)) return;
    walked.add(real);
    const entries = await readdir(absolute, { withFileTypes: true });
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const name = entry.name;
      if (name.startsWith('_') || name.startsWith('.') || name === 'node_modules') continue;
      const path = join(absolute, name);
      if (entry.isSymbolicLink()) deferred.push({ absolute: path, root });
      else if (entry.isDirectory()) await walk(path, join(real, name), root);
      else if (entry.isFile() && isDagFile(path) && !found.has(join(real, name))) found.set(join(real, name), path);
    }
  };

  /** A path given, or a link met in a folder (`root`): followed only where the rules above allow. */
  const visit = async (absolute: string, root: string | undefined): Promise<void> => {
    const explicit = root === undefined;
    const info = await stat(absolute).catch(() => undefined);
    if (!info) {
      if (explicit) throw new DagPathError(`${shown(absolute)}: no such file or folder`);
      skipped.push({ file: shown(absolute), reason: 'leads to nothing' });
      return;
    }
    const real = await realpath(absolute);
    if (!explicit) {
      const why = !inside(real, root)
        ? `leads out of ${shown(root)} (to ${real})`
        : info.isDirectory() && walked.has(real)
          ? `leads back into ${shown(real)}, a folder already walked`
          : info.isFile() && found.has(real)
            ? `is another name for ${shown(found.get(real)!)}`
            : undefined;
      if (why) {
        skipped.push({ file: shown(absolute), reason: why });
        return;
      }
    }
    if (info.isDirectory()) await walk(absolute, real, root ?? real);
    else if ((explicit || (info.isFile() && isDagFile(absolute))) && !found.has(real)) found.set(real, absolute);
  };
  for (const path of paths) {
    await visit(resolve(cwd, path), undefined);
    while (deferred.length > 0) {
      const links = deferred;
      deferred = [];
      for (const { absolute, root } of links) await visit(absolute, root);
    }
  }
  const files = [...found.values()].map((absolutePath) => ({ file: shown(absolutePath), absolutePath }));
  return { files, skipped };
}
