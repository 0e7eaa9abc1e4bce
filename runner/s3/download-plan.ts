/**
 * What stops an S3 -> local download before it writes anything. Pure: the caller inspects the
 * destination (lstat, never following a symbolic link) and passes what it found.
 *
 * A download must land inside its folder and either complete or change nothing it does not
 * report, so everything that would make a write escape or fail halfway is found here, all at once:
 * a symbolic link where a folder or file is to be written (writing through it would land outside
 * the folder), a key that is both a file and a folder (`p/a` and `p/a/b`), a local file where a key
 * needs a folder and the reverse, and names the file system cannot hold.
 */

/** What is at a local path, as lstat sees it. */
export type LocalKind = 'file' | 'folder' | 'symlink' | 'other';

/** The longest file name (one path segment), in bytes: Linux's NAME_MAX, and most file systems'. */
export const MAX_NAME_BYTES = 255;
/** The longest path the kernel accepts, in bytes, less its terminating NUL (PATH_MAX is 4096). */
export const MAX_PATH_BYTES = 4095;

/** The folders a relative path needs, outermost first: `a/b/c.txt` -> `['a', 'a/b']`. */
export function foldersOf(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** The local paths to inspect before writing `writes`: each file and every folder above it, outermost first. */
export function pathsToInspect(writes: readonly string[]): string[] {
  const paths = new Set<string>();
  for (const path of writes) {
    for (const folder of foldersOf(path)) paths.add(folder);
    paths.add(path);
  }
  return [...paths].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : a > b ? 1 : 0));
}

export interface DownloadLayout {
  /** Every relative path the sync keeps from the source (copied or unchanged). */
  source: readonly string[];
  /** The relative paths it will write. */
  writes: readonly string[];
  /** What is at a relative path in the destination now; undefined if nothing (or not inspected). */
  kindOf: (path: string) => LocalKind | undefined;
  /** Bytes of the destination folder's absolute path. */
  rootBytes: number;
  /** How a relative path is named in messages (its S3 key). */
  keyOf: (path: string) => string;
}

const quote = (text: string) => JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}…` : text);

/** Every reason the download would escape the folder or fail halfway; empty when it can go ahead. */
export function downloadProblems(layout: DownloadLayout): string[] {
  const problems: string[] = [];
  const { keyOf, kindOf } = layout;

  const files = new Set(layout.source);
  for (const path of layout.source) {
    const folder = foldersOf(path).find((f) => files.has(f));
    if (folder !== undefined) {
      problems.push(
        `keys ${quote(keyOf(folder))} and ${quote(keyOf(path))} clash: ${quote(folder)} cannot be both a file and a folder`,
      );
    }
  }

  const throughLinks = new Map<string, string[]>();
  for (const path of layout.writes) {
    const long = path.split('/').find((segment) => Buffer.byteLength(segment) > MAX_NAME_BYTES);
    if (long !== undefined) {
      problems.push(
        `key ${quote(keyOf(path))} has a name of ${Buffer.byteLength(long)} bytes; file names are at most ${MAX_NAME_BYTES}`,
      );
      continue;
    }
    const pathBytes = layout.rootBytes + 1 + Buffer.byteLength(path);
    if (pathBytes > MAX_PATH_BYTES) {
      problems.push(
        `key ${quote(keyOf(path))} would be written at a path of ${pathBytes} bytes; paths are at most ${MAX_PATH_BYTES}`,
      );
      continue;
    }
    for (const folder of foldersOf(path)) {
      const kind = kindOf(folder);
      if (kind === undefined) break; // missing: created, and so is everything under it
      if (kind === 'folder') continue;
      if (kind === 'symlink') throughLinks.set(folder, [...(throughLinks.get(folder) ?? []), path]);
      else
        problems.push(
          `${quote(folder)} is a file in the destination, but key ${quote(keyOf(path))} needs a folder there`,
        );
      break;
    }
    const kind = foldersOf(path).every((f) => kindOf(f) === 'folder') ? kindOf(path) : undefined;
    if (kind === 'folder')
      problems.push(`${quote(path)} is a folder in the destination, but key ${quote(keyOf(path))} is a file`);
    else if (kind === 'symlink')
      problems.push(
        `${quote(path)} is a symbolic link inside the destination, and key ${quote(keyOf(path))} would replace it`,
      );
    else if (kind === 'other')
      problems.push(
        `${quote(path)} is not a regular file (a socket, FIFO or device); key ${quote(keyOf(path))} would replace it`,
      );
  }
  for (const [link, paths] of throughLinks) {
    const more = paths.length > 1 ? ` and ${paths.length - 1} more` : '';
    problems.push(
      `${quote(link)} is a symbolic link inside the destination; key ${quote(keyOf(paths[0]!))}${more} would be written through it`,
    );
  }
  return problems;
}

/** The problems as one line, the first `shown` of them and a count of the rest. */
export function describeProblems(problems: readonly string[], shown = 10): string {
  const rest = problems.length - shown;
  return problems.slice(0, shown).join('; ') + (rest > 0 ? `; and ${rest} more` : '');
}
