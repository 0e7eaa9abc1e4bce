/**
 * The file-system side of an S3 -> local download: inspecting the destination before the plan is
 * checked (lstat, never following a link), then writing in two phases so that a failure changes
 * nothing it does not report. Every object is first downloaded to a temporary file beside its
 * target (a short name of its own, so a 255-byte file name still fits); only when all are down are
 * they renamed into place. A failure while downloading removes the temporary files and the folders
 * this sync created, leaving the destination as it was.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '../core/operator.ts';
import { foldersOf, type LocalKind } from './download-plan.ts';
import { eachLimit } from '../core/each-limit.ts';
import { SyncRefusedError } from './sync-plan.ts';

type S3Api = Pick<S3Client, 'send'>;

const absolute = (root: string, path: string) => join(root, ...path.split('/'));

function kindOf(info: { isSymbolicLink(): boolean; isDirectory(): boolean; isFile(): boolean }): LocalKind {
  if (info.isSymbolicLink()) return 'symlink';
  if (info.isDirectory()) return 'folder';
  return info.isFile() ? 'file' : 'other';
}

/**
 * What is at each of `paths` (relative, outermost first, as `pathsToInspect` gives them). A path is
 * looked at only when the folder above it is a real folder, so no lstat goes through a link.
 */
export async function inspectDestination(
  root: string,
  paths: readonly string[],
  concurrency: number,
): Promise<Map<string, LocalKind>> {
  const kinds = new Map<string, LocalKind>();
  const byDepth = new Map<number, string[]>();
  for (const path of paths) {
    const depth = path.split('/').length;
    byDepth.set(depth, [...(byDepth.get(depth) ?? []), path]);
  }
  for (const depth of [...byDepth.keys()].sort((a, b) => a - b)) {
    const level = byDepth.get(depth)!.filter((p) => depth === 1 || kinds.get(dirname(p)) === 'folder');
    await eachLimit(level, concurrency, async (path) => {
      const info = await lstat(absolute(root, path)).catch((error: NodeJS.ErrnoException) => {
        // A name too long to exist cannot be in the way; the plan reports it as too long.
        if (error.code === 'ENOENT' || error.code === 'ENAMETOOLONG') return undefined;
        throw error;
      });
      if (info) kinds.set(path, kindOf(info));
    });
  }
  return kinds;
}

export interface DownloadWrite {
  /** Relative path in the destination. */
  path: string;
  /** The object's key. */
  key: string;
}

export interface WriteDownloadsOptions {
  concurrency: number;
  signal?: AbortSignal;
  log?: Logger;
  /** Called after each object is downloaded. */
  onDownloaded?: () => void;
}

/**
 * Makes the folders `path` needs, outermost first, and checks each is a real folder: checked when
 * planning, and again here, right before a file is written under it, in case one became a link.
 */
async function makeFoldersOf(root: string, path: string, created: string[]): Promise<void> {
  for (const folder of foldersOf(path)) {
    const absolutePath = absolute(root, folder);
    try {
      await mkdir(absolutePath);
      created.push(absolutePath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const info = await lstat(absolutePath);
      if (info.isSymbolicLink() || !info.isDirectory()) {
        const now = kindOf(info) === 'symlink' ? 'a symbolic link' : `a ${kindOf(info)}`;
        throw new SyncRefusedError(`${JSON.stringify(folder)} became ${now} during the sync`);
      }
    }
  }
}

/**
 * Downloads `writes` into `root`. `written` receives each relative path once it is in place, so a
 * caller that catches the error knows exactly what changed; on a failure before any rename,
 * nothing has.
 */
export async function writeDownloads(
  s3: S3Api,
  bucket: string,
  root: string,
  writes: readonly DownloadWrite[],
  options: WriteDownloadsOptions,
  written: string[],
): Promise<void> {
  const createdFolders: string[] = [];
  const temps = new Map<string, string>(); // path -> its temporary file
  const cleanUp = async () => {
    for (const temp of temps.values()) {
      await rm(temp, { force: true }).catch((error: Error) =>
        options.log?.warn(`could not remove the temporary file ${temp}: ${error.message}`),
      );
    }
    // Deepest first; a folder that holds something (a renamed file) stays.
    for (const folder of createdFolders.reverse()) await rmdir(folder).catch(() => undefined);
  };
  try {
    const rootExisted = await lstat(root).then(
      () => true,
      () => false,
    );
    if (!rootExisted) {
      await mkdir(root, { recursive: true });
      createdFolders.push(root);
    }
    await eachLimit(writes, options.concurrency, async (write) => {
      if (options.signal?.aborted) throw options.signal.reason;
      await makeFoldersOf(root, write.path, createdFolders);
      const temp = join(dirname(absolute(root, write.path)), `.runway-${randomUUID().slice(0, 8)}.part`);
      temps.set(write.path, temp);
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: write.key }), {
        abortSignal: options.signal,
      });
      // 'wx': fails rather than follow anything already at this name.
      await pipeline(object.Body as Readable, createWriteStream(temp, { flags: 'wx' }));
      options.onDownloaded?.();
    });

    if (options.signal?.aborted) throw options.signal.reason;
    for (const write of writes) {
      await rename(temps.get(write.path)!, absolute(root, write.path));
      temps.delete(write.path);
      written.push(write.path);
    }
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
