/**
 * What an S3 sync will do, decided before anything is sent: which files to copy, which to delete,
 * which are unchanged. Pure. Files are compared by content (MD5), never by modification time, so a
 * fresh git checkout (new mtimes, same bytes) copies nothing and a same-size edit is copied.
 */
import picomatch from 'picomatch';

export interface SyncEntry {
  /** Path relative to the root of its side, with '/' separators. */
  path: string;
  size: number;
  /** Hex MD5 of the content, where known. */
  md5?: string;
}

export interface SyncFilter {
  /** Globs of relative paths to consider (all, if empty). */
  include?: readonly string[];
  /** Globs of relative paths to leave alone, on both sides. */
  exclude?: readonly string[];
}

export interface SyncPlanOptions extends SyncFilter {
  /** Delete destination entries the source lacks. @defaultValue false */
  delete?: boolean;
  /** Delete even when the source is empty, or more than `maxDeleteShare` of the destination. @defaultValue false */
  force?: boolean;
  /** Share of the destination a delete may remove without `force`. @defaultValue 0.5 */
  maxDeleteShare?: number;
}

export interface SyncPlan {
  copy: SyncEntry[];
  delete: SyncEntry[];
  unchanged: SyncEntry[];
}

export class SyncRefusedError extends Error {
  override readonly name = 'SyncRefusedError';
}

export function matcher(filter: SyncFilter): (path: string) => boolean {
  const include = filter.include?.length ? picomatch([...filter.include], { dot: true }) : () => true;
  const exclude = filter.exclude?.length ? picomatch([...filter.exclude], { dot: true }) : () => false;
  return (path) => include(path) && !exclude(path);
}

/**
 * `sameContent(source, destination)` decides equality when the destination's MD5 is not known
 * up front (a multipart object): it may look it up.
 */
export function planSync(
  source: readonly SyncEntry[],
  destination: readonly SyncEntry[],
  options: SyncPlanOptions,
  sameContent: (source: SyncEntry, destination: SyncEntry) => boolean = (a, b) =>
    a.md5 !== undefined && a.md5 === b.md5,
): SyncPlan {
  const wanted = matcher(options);
  const src = source.filter((e) => wanted(e.path));
  const dst = destination.filter((e) => wanted(e.path));
  const existing = new Map(dst.map((e) => [e.path, e]));
  const plan: SyncPlan = { copy: [], delete: [], unchanged: [] };
  for (const entry of src) {
    const there = existing.get(entry.path);
    if (there && there.size === entry.size && sameContent(entry, there)) plan.unchanged.push(entry);
    else plan.copy.push(entry);
  }
  if (options.delete) {
    const inSource = new Set(src.map((e) => e.path));
    plan.delete = dst.filter((e) => !inSource.has(e.path));
    if (!options.force && plan.delete.length > 0) {
      if (src.length === 0) {
        throw new SyncRefusedError(
          `refusing to delete ${plan.delete.length} destination entries because the source is empty (pass force to allow)`,
        );
      }
      const share = options.maxDeleteShare ?? 0.5;
      if (plan.delete.length > share * dst.length) {
        throw new SyncRefusedError(
          `refusing to delete ${plan.delete.length} of ${dst.length} destination entries (more than ${Math.round(share * 100)} %; pass force to allow)`,
        );
      }
    }
  }
  return plan;
}

/** A relative path taken from an S3 key, or an error if writing it locally could escape the folder. */
export function safeRelativePath(relative: string): string {
  if (relative.includes('\0'))
    throw new SyncRefusedError(`key part ${JSON.stringify(relative)} contains a NUL character`);
  if (relative.startsWith('/') || /^[A-Za-z]:/.test(relative) || relative.includes('\\')) {
    throw new SyncRefusedError(`key part ${JSON.stringify(relative)} is an absolute or Windows path`);
  }
  const parts = relative.split('/');
  if (parts.some((p) => p === '..' || p === '.'))
    throw new SyncRefusedError(`key part ${JSON.stringify(relative)} contains "." or ".."`);
  if (parts.some((p) => p === ''))
    throw new SyncRefusedError(`key part ${JSON.stringify(relative)} has an empty path segment`);
  return relative;
}
