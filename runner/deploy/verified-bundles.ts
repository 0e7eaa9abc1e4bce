/**
 * DAG files that passed validation in isolation, with their bundles, kept across restarts: a
 * scheduler or worker restarted on an unchanged folder of 2,000 DAGs registers them by the summaries
 * kept here (importing a bundle only when a DAG is used) instead of importing every file again in
 * isolation and bundling it (over 20 s here).
 *
 * An entry is found by a key over everything the verdict depends on: the file's content, every other
 * file of the folder (its helpers), Runway's package.json (its version and dependencies) and Node's
 * version; and it is used only while the other DAG files its bundle was built from (a DAG file may
 * import another) are unchanged, and if it was written in this entry format. Change any of them and
 * the file is validated again. Only good verdicts are kept.
 */
import { createHash, randomUUID } from 'node:crypto';
import { copyFile, link, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eachLimit } from '../core/each-limit.ts';
import { scanFolder, type FolderScan } from './folder-scan.ts';
import type { ManifestEntry } from './manifest.ts';
import type { DagSummary } from '../core/dag-summary.ts';
import { RUNWAY_PACKAGE_JSON } from '../package-file.ts';

/**
 * Inside Runway's own package, so a bundle's `import 'runway'` resolves to the runner's own module
 * (Node's package self-reference) and its other imports to Runway's node_modules.
 */
export const DEFAULT_CACHE_DIR = fileURLToPath(new URL('.runway/dag-bundles/', RUNWAY_PACKAGE_JSON));

/** Entries not used for this long are removed when a folder is first read. */
const UNUSED_FOR_MS = 7 * 86_400_000;

/**
 * The shape of an entry and of the summary in it. Bump it with any change to either (DagSummary's
 * fields included): an entry of another format is not used, the file is validated again.
 */
export const ENTRY_FORMAT = 2;

/** A verified bundle's entry with its DAG's summary: a restarted service registers it without an import. */
export type VerifiedEntry = Omit<ManifestEntry, 'source'> & {
  format: typeof ENTRY_FORMAT;
  summary: DagSummary;
  /** The DAG files of the folder the bundle was built from, its own included, with their content hashes. */
  dagFiles: Record<string, string>;
};

export class VerifiedBundles {
  private salt: Promise<string> | undefined;

  constructor(private readonly dir: string) {}

  /** The key of a DAG file with this content hash, in a folder whose other files hash to `helpers`. */
  async key(fileHash: string, helpers: string): Promise<string> {
    this.salt ??= readFile(RUNWAY_PACKAGE_JSON).then((pkg) =>
      createHash('sha256').update(pkg).update(`\0${process.version}`).digest('hex'),
    );
    return createHash('sha256')
      .update(`${await this.salt}\0${helpers}\0${fileHash}`)
      .digest('hex');
  }

  /**
   * The entry kept for `key`, its bundle copied to `bundleDir` under its usual name; none if a DAG
   * file it was built from has changed since (`dags`: the folder's DAG files by content hash).
   */
  async take(key: string, bundleDir: string, dags: ReadonlyMap<string, string>): Promise<VerifiedEntry | undefined> {
    const entry = await this.read(key, dags);
    if (entry === undefined) return undefined;
    try {
      await linkOrCopy(join(this.dir, `${key}.mjs`), join(bundleDir, bundleName(entry)));
      // Marks the entry used for `prune`; a restart does not wait for 2,000 of these.
      const now = new Date();
      void utimes(join(this.dir, `${key}.json`), now, now).catch(() => undefined);
      return entry;
    } catch {
      return undefined; // a half-written or removed entry: the file is validated again
    }
  }

  /** The summary kept for `key` (as `take`), without taking its bundle or marking it used. */
  async summary(key: string, dags: ReadonlyMap<string, string>): Promise<DagSummary | undefined> {
    return (await this.read(key, dags))?.summary;
  }

  private async read(key: string, dags: ReadonlyMap<string, string>): Promise<VerifiedEntry | undefined> {
    const raw = await readFile(join(this.dir, `${key}.json`), 'utf8').catch(() => undefined);
    if (raw === undefined) return undefined;
    let entry: Partial<VerifiedEntry>;
    try {
      entry = JSON.parse(raw) as Partial<VerifiedEntry>;
    } catch {
      return undefined; // half-written: the file is validated again
    }
    // Another format (an entry kept by another version of Runway, or before summaries were kept).
    if (entry.format !== ENTRY_FORMAT) return undefined;
    const changed = Object.entries(entry.dagFiles ?? {}).some(([path, hash]) => dags.get(path) !== hash);
    return changed ? undefined : (entry as VerifiedEntry);
  }

  /**
   * Keeps a good verdict and its bundle (found in `bundleDir`), unless a file of the folder the bundle
   * was built from changed since `scan` (which the key and the verdict came from): the bundle may hold
   * content the verdict never saw. The JSON is written last: it is what `take` looks for.
   */
  async put(
    key: string,
    verdict: { dagId: string; bundle: string; sha256: string; summary: DagSummary; inputs: readonly string[] },
    bundleDir: string,
    scan: FolderScan,
  ): Promise<void> {
    const { inputs, ...kept } = verdict;
    const dagFiles: Record<string, string> = {};
    for (const input of inputs) {
      const hash = scan.dags.get(input);
      if (hash !== undefined) dagFiles[input] = hash;
    }
    const entry: VerifiedEntry = { ...kept, format: ENTRY_FORMAT, dagFiles };
    if (await this.changedSince(scan, inputs)) return;
    try {
      await mkdir(this.dir, { recursive: true });
      // Into place by rename: a process may hold a hard link to the bundle kept under this key, which
      // a copy onto it would rewrite while that process imports it.
      const partial = join(this.dir, `${key}.${process.pid}.${randomUUID()}.partial`);
      await copyFile(join(bundleDir, bundleName(entry)), partial);
      await rename(partial, join(this.dir, `${key}.mjs`)).finally(() => rm(partial, { force: true }));
      await writeFile(join(this.dir, `${key}.json`), JSON.stringify(entry));
    } catch {
      // A full disk or a read-only folder costs the next restart its speed, never this load.
    }
  }

  /** Whether one of `inputs` that `scan` hashed reads differently now. */
  private async changedSince(scan: FolderScan, inputs: readonly string[]): Promise<boolean> {
    for (const input of inputs) {
      const then = scan.hashes.get(input);
      if (then === undefined) continue; // not in the scan (a package inlined): not in the key either
      const now = await readFile(input).catch(() => undefined);
      if (now === undefined || createHash('sha256').update(now).digest('hex') !== then) return true;
    }
    return false;
  }

  /** Removes entries no process used for a week: the folder does not grow with every edit. */
  async prune(now = Date.now()): Promise<void> {
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (!name.endsWith('.json')) continue;
      const path = join(this.dir, name);
      const used = (await stat(path).catch(() => undefined))?.mtimeMs;
      if (used !== undefined && now - used > UNUSED_FOR_MS) {
        await rm(path, { force: true });
        await rm(path.replace(/\.json$/, '.mjs'), { force: true });
      }
    }
  }
}

/**
 * A hard link where it can (one call, no copy: 2,000 of them at a restart), a copy where it cannot
 * (another file system). Either way the process's bundle outlives a prune of the verified one.
 */
async function linkOrCopy(from: string, to: string): Promise<void> {
  await link(from, to).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST') return;
    await copyFile(from, to);
  });
}

/** `bundles/<dagId>.<hash>.mjs` → `<dagId>.<hash>.mjs`, the name in a bundle folder. */
function bundleName(entry: VerifiedEntry): string {
  return entry.bundle.slice(entry.bundle.lastIndexOf('/') + 1);
}

/**
 * The summaries a service kept for the folder's DAG files that it verified, unchanged with their
 * helpers since (`runway dags list` shows them without importing anything), and the other DAG
 * files. Reads the cache only.
 */
export async function verifiedSummaries(
  folder: string,
  options: { cwd?: string; cacheDir?: string } = {},
): Promise<{ verified: Map<string, DagSummary>; unverified: string[]; scan: FolderScan; cache: VerifiedBundles }> {
  const cwd = options.cwd ?? process.cwd();
  const cache = new VerifiedBundles(join(options.cacheDir ?? DEFAULT_CACHE_DIR, 'verified'));
  const scan = await scanFolder(resolve(cwd, folder), cwd);
  const verified = new Map<string, DagSummary>();
  await eachLimit([...scan.dags], 16, async ([path, hash]) => {
    const summary = await cache.summary(await cache.key(hash, scan.helpers), scan.dags);
    if (summary) verified.set(path, summary);
  });
  return { verified, unverified: [...scan.dags.keys()].filter((path) => !verified.has(path)), scan, cache };
}
