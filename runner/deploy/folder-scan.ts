/** A DAG folder's files by content: what decides whether a DAG file needs validating again. */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { findDagFiles } from '../loader/find-dag-files.ts';
import { eachLimit } from '../core/each-limit.ts';

const READS_AT_ONCE = 16;

export interface FolderScan {
  /** Every DAG file with its content hash. */
  dags: Map<string, string>;
  /** One hash over every other file (helpers). */
  helpers: string;
}

export async function scanFolder(root: string, cwd: string): Promise<FolderScan> {
  const dagFiles = new Set((await findDagFiles([root], cwd)).map((f) => f.absolutePath));
  const paths = await listFiles(root);
  // Read several at a time (2,000 reads one after another wait on the file system 2,000 times),
  // hashed in listing order so that the helpers' hash does not depend on which read ends first.
  const hashes: (string | undefined)[] = [];
  await eachLimit(
    paths.map((path, i) => ({ path, i })),
    READS_AT_ONCE,
    async ({ path, i }) => {
      const content = await readFile(path).catch(() => undefined);
      // undefined: gone between the listing and the read; the next event rescans
      hashes[i] = content && createHash('sha256').update(content).digest('hex');
    },
  );
  const dags = new Map<string, string>();
  const helpers = createHash('sha256');
  for (const [i, path] of paths.entries()) {
    const hash = hashes[i];
    if (hash === undefined) continue;
    if (dagFiles.has(path)) dags.set(path, hash);
    else helpers.update(`${path}\0${hash}\0`);
  }
  return { dags, helpers: helpers.digest('hex') };
}

/** Every file under `root`, but in node_modules and folders named with a leading `.`. */
async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      // A link counts as what it points to, as for findDagFiles.
      const info = entry.isSymbolicLink() ? await stat(path).catch(() => undefined) : entry;
      if (info?.isDirectory()) {
        if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
        await visit(path);
      } else if (info?.isFile()) out.push(path);
    }
  };
  await visit(root);
  return out;
}
