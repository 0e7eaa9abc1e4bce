/** A DAG folder's files by content: what decides whether a DAG file needs validating again. */
import { createHash } from 'node:crypto';
import { statSync, type BigIntStats } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { join } from 'node:path';
import { findDagFiles } from '../loader/find-dag-files.ts';
import { eachLimit } from '../core/each-limit.ts';

const READS_AT_ONCE = 16;
/** About 1 ms of stats, then the event loop's other work gets a turn. */
const STATS_PER_TURN = 250;

/**
 * A file changed this recently may change again within the same timestamp tick (up to 2 s on FAT,
 * 1 s on HFS+ and ext3, a few ms on ext4) and keep every field of its stat: it is read again on the
 * next scan, until its last change is older than this (git's "racily clean" files).
 */
const RACY_MS = 2_000;

/**
 * Every file is read again at least this often. The stat check trusts the file system's timestamps
 * and compares them with this machine's clock; a network file system (NFS, SMB, EFS, some FUSE
 * mounts) stamps them with its server's clock and may serve a stat from its cache, so there a second
 * same-size write in one tick could go unseen. This bounds such a miss, at 1/150 of the cost of
 * reading everything every 2 s.
 */
const FULL_READ_EVERY_MS = 5 * 60_000;

export interface FolderScan {
  /** Every DAG file with its content hash. */
  dags: Map<string, string>;
  /** One hash over every other file (helpers). */
  helpers: string;
  /** Every file, DAG file or helper, with its content hash. */
  hashes: Map<string, string>;
  /** How many files were read and hashed: those new, changed by their stat, or due for a full read. */
  reads: number;
}

interface KnownFile {
  /** Device, inode, size, mtime and ctime (ns); empty while the file is racy (read it again). */
  stat: string;
  hash: string;
}

/**
 * Scans a folder again and again, reading only the files whose stat changed since the last scan.
 * The stat covers device and inode (an editor's save by rename, `git checkout`, a link retargeted),
 * size, mtime, and ctime: a tool that writes an old mtime back (`aws s3 sync`, `cp -p`, `rsync -a`,
 * `touch -d`) changes the ctime, which nothing but the kernel sets.
 */
export class FolderScanner {
  private known = new Map<string, KnownFile>();
  private lastFullRead = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;

  constructor(
    private readonly root: string,
    private readonly cwd: string,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async scan(): Promise<FolderScan> {
    const startedAt = this.now();
    const fullRead = startedAt - this.lastFullRead >= FULL_READ_EVERY_MS;
    const dagFiles = new Set((await findDagFiles([this.root], this.cwd)).map((f) => f.absolutePath));
    const paths = await listFiles(this.root);
    const known = new Map<string, KnownFile>();
    const toRead: { path: string; fingerprint: string; changedAt: number }[] = [];
    // Synchronous stats, a batch at a time between turns of the event loop: a promise's stat costs
    // 4 times the CPU of a synchronous one (its trip through libuv's thread pool), and 2,000 of them
    // every 2 s were most of an unchanged rescan's cost.
    for (let i = 0; i < paths.length; i += STATS_PER_TURN) {
      if (i > 0) await nextTurn();
      for (const path of paths.slice(i, i + STATS_PER_TURN)) {
        const info = statOrUndefined(path);
        if (!info?.isFile()) continue; // gone since the listing; the next event rescans
        const fingerprint = `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
        const before = this.known.get(path);
        if (!fullRead && before?.stat === fingerprint) known.set(path, before);
        else {
          const changedAt = Number((info.ctimeNs > info.mtimeNs ? info.ctimeNs : info.mtimeNs) / 1_000_000n);
          toRead.push({ path, fingerprint, changedAt });
        }
      }
    }
    let reads = 0;
    // Several reads at a time: 2,000 one after another wait on the file system 2,000 times.
    await eachLimit(toRead, READS_AT_ONCE, async ({ path, fingerprint, changedAt }) => {
      const content = await readFile(path).catch(() => undefined);
      if (content === undefined) return;
      reads += 1;
      known.set(path, {
        stat: changedAt > startedAt - RACY_MS ? '' : fingerprint,
        hash: createHash('sha256').update(content).digest('hex'),
      });
    });
    this.known = known;
    if (fullRead) this.lastFullRead = startedAt;
    const dags = new Map<string, string>();
    const hashes = new Map<string, string>();
    const helpers = createHash('sha256');
    for (const path of paths) {
      const hash = known.get(path)?.hash;
      if (hash === undefined) continue;
      hashes.set(path, hash);
      if (dagFiles.has(path)) dags.set(path, hash);
      else helpers.update(`${path}\0${hash}\0`);
    }
    return { dags, helpers: helpers.digest('hex'), hashes, reads };
  }
}

function statOrUndefined(path: string): BigIntStats | undefined {
  try {
    return statSync(path, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined; // EACCES, ELOOP, ENOTDIR: not a file this scan can read
  }
}

/** The folder's files by content, read once. */
export function scanFolder(root: string, cwd: string): Promise<FolderScan> {
  return new FolderScanner(root, cwd).scan();
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
