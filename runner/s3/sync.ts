/**
 * `aws s3 sync` semantics between a local folder and an S3 prefix, comparing content, not times.
 * Single-part objects are compared by ETag (their MD5); every object Runway uploads also carries
 * its MD5 in metadata (`x-amz-meta-runway-md5`), which is what multipart objects are compared by.
 * Uploads finish before deletes start, and a failed upload cancels the deletes.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  type ServerSideEncryption,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import mime from 'mime-types';
import type { Logger } from '../core/operator.ts';
import { inspectDestination, writeDownloads } from './download-io.ts';
import { describeProblems, downloadProblems, pathsToInspect } from './download-plan.ts';
import { eachLimit } from '../core/each-limit.ts';
import {
  planSync,
  safeRelativePath,
  SyncRefusedError,
  type SyncEntry,
  type SyncPlan,
  type SyncPlanOptions,
} from './sync-plan.ts';

import { parseS3Uri, type S3Location } from './s3-uri.ts';

export { parseS3Uri, type S3Location };

export type S3Api = Pick<S3Client, 'send'>;

export interface S3SyncOptions extends SyncPlanOptions {
  /** Print the plan; change nothing. @defaultValue false */
  dryRun?: boolean;
  /** Transfers at once. @defaultValue 16 */
  concurrency?: number;
  /** Files this large or larger are uploaded in parts. @defaultValue 16 MiB */
  multipartThresholdBytes?: number;
  /** @defaultValue 8 MiB */
  partSizeBytes?: number;
  storageClass?: StorageClass;
  serverSideEncryption?: ServerSideEncryption;
  sseKmsKeyId?: string;
  log?: Logger;
  signal?: AbortSignal;
  /** Called after each transfer with how many of the planned ones are done. */
  onProgress?: (done: number, total: number) => void;
}

export interface S3SyncResult {
  direction: 'upload' | 'download';
  dryRun: boolean;
  copied: { count: number; bytes: number; keys: string[] };
  deleted: { count: number; keys: string[] };
  unchanged: { count: number; bytes: number };
}

const MD5_METADATA = 'runway-md5';

/** Files up to this size are hashed from one read: a stream per small file costs more than the read. */
const WHOLE_READ_BYTES = 8 * 1024 * 1024;

async function md5OfFile(path: string, size: number): Promise<string> {
  if (size <= WHOLE_READ_BYTES)
    return createHash('md5')
      .update(await readFile(path))
      .digest('hex');
  const hash = createHash('md5');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Regular files under `root`, with sizes and MD5s. */
export async function listLocal(root: string, concurrency = 16): Promise<SyncEntry[]> {
  const files: { path: string; absolute: string }[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    await Promise.all(
      entries.map(async (entry) => {
        const absolute = join(dir, entry.name);
        if (entry.isDirectory()) await walk(absolute);
        else if (entry.isFile()) files.push({ path: relative(root, absolute).split(sep).join('/'), absolute });
      }),
    );
  };
  await walk(root);
  const entries: SyncEntry[] = [];
  await eachLimit(files, concurrency, async (file) => {
    const { size } = await stat(file.absolute);
    entries.push({ path: file.path, size, md5: await md5OfFile(file.absolute, size) });
  });
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Objects under the prefix; the MD5 is the ETag for single-part objects, unknown for multipart ones. */
export async function listS3(s3: S3Api, location: S3Location): Promise<(SyncEntry & { key: string })[]> {
  const entries: (SyncEntry & { key: string })[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: location.bucket, Prefix: location.prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      const key = object.Key!;
      if (!key.startsWith(location.prefix) || key.endsWith('/')) continue;
      const etag = (object.ETag ?? '').replaceAll('"', '');
      entries.push({
        key,
        path: key.slice(location.prefix.length),
        size: object.Size ?? 0,
        ...(/^[0-9a-f]{32}$/.test(etag) ? { md5: etag } : {}),
      });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return entries;
}

/** Fills in the MD5 of multipart objects that may match a source file, from Runway's metadata. */
async function resolveMultipartMd5(
  s3: S3Api,
  bucket: string,
  remote: (SyncEntry & { key: string })[],
  other: readonly SyncEntry[],
  concurrency: number,
): Promise<void> {
  const sizes = new Map(other.map((e) => [e.path, e.size]));
  const unknown = remote.filter((e) => e.md5 === undefined && sizes.get(e.path) === e.size);
  await eachLimit(unknown, concurrency, async (entry) => {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: entry.key }));
    const md5 = head.Metadata?.[MD5_METADATA];
    if (md5) entry.md5 = md5;
  });
}

/** What a plan does, as the result reports it; the copied and deleted entries named by `copiedName`/`deletedName`. */
function resultOf(
  direction: S3SyncResult['direction'],
  dryRun: boolean,
  plan: SyncPlan,
  copiedName: (path: string) => string,
  deletedName: (path: string) => string,
): S3SyncResult {
  const bytes = (entries: readonly SyncEntry[]) => entries.reduce((n, e) => n + e.size, 0);
  return {
    direction,
    dryRun,
    copied: { count: plan.copy.length, bytes: bytes(plan.copy), keys: plan.copy.map((e) => copiedName(e.path)) },
    deleted: { count: plan.delete.length, keys: plan.delete.map((e) => deletedName(e.path)) },
    unchanged: { count: plan.unchanged.length, bytes: bytes(plan.unchanged) },
  };
}

/** Local folder -> S3 prefix. */
export async function syncFolderToS3(
  s3: S3Api,
  folder: string,
  target: string,
  options: S3SyncOptions = {},
): Promise<S3SyncResult> {
  const location = parseS3Uri(target);
  const root = resolve(folder);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) throw new SyncRefusedError(`source folder ${folder} does not exist`);
  const concurrency = options.concurrency ?? 16;
  const [local, remote] = await Promise.all([listLocal(root, concurrency), listS3(s3, location)]);
  await resolveMultipartMd5(s3, location.bucket, remote, local, concurrency);
  const plan = planSync(local, remote, options);
  const keyOf = (path: string) => `${location.prefix}${path}`;
  const result = resultOf('upload', options.dryRun ?? false, plan, keyOf, keyOf);
  if (options.dryRun) return result;

  let done = 0;
  const total = plan.copy.length + plan.delete.length;
  const threshold = options.multipartThresholdBytes ?? 16 * 1024 * 1024;
  await eachLimit(plan.copy, concurrency, async (entry) => {
    if (options.signal?.aborted) throw options.signal.reason;
    const params = {
      Bucket: location.bucket,
      Key: keyOf(entry.path),
      ContentType: mime.lookup(entry.path) || 'application/octet-stream',
      Metadata: { [MD5_METADATA]: entry.md5! },
      ...(options.storageClass ? { StorageClass: options.storageClass } : {}),
      ...(options.serverSideEncryption ? { ServerSideEncryption: options.serverSideEncryption } : {}),
      ...(options.sseKmsKeyId ? { SSEKMSKeyId: options.sseKmsKeyId } : {}),
    };
    const file = join(root, ...entry.path.split('/'));
    if (entry.size >= threshold) {
      const upload = new Upload({
        client: s3 as S3Client,
        params: { ...params, Body: createReadStream(file) },
        partSize: options.partSizeBytes ?? 8 * 1024 * 1024,
        queueSize: 4,
      });
      await upload.done();
    } else {
      const body = await readFile(file);
      await s3.send(
        new PutObjectCommand({ ...params, Body: body, ContentMD5: Buffer.from(entry.md5!, 'hex').toString('base64') }),
      );
    }
    options.onProgress?.(++done, total);
  });
  // Only after every upload succeeded: a failed upload above has thrown, and nothing is deleted.
  for (let i = 0; i < result.deleted.keys.length; i += 1_000) {
    const batch = result.deleted.keys.slice(i, i + 1_000);
    const response = await s3.send(
      new DeleteObjectsCommand({
        Bucket: location.bucket,
        Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
      }),
    );
    if (response.Errors?.length) {
      throw new Error(
        `could not delete ${response.Errors.length} object(s), first ${response.Errors[0]!.Key}: ${response.Errors[0]!.Message}`,
      );
    }
    done += batch.length;
    options.onProgress?.(done, total);
  }
  options.log?.info(
    `synced ${folder} -> ${target}: ${result.copied.count} uploaded, ${result.deleted.count} deleted, ${result.unchanged.count} unchanged`,
  );
  return result;
}

/**
 * A sync failed after changing something; `partial` says what: the files in place and the entries
 * deleted before the failure. A download that fails while fetching changes nothing, so its
 * `partial` is empty.
 */
export class SyncFailedError extends Error {
  override readonly name = 'SyncFailedError';
  constructor(
    message: string,
    readonly partial: S3SyncResult,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

/**
 * S3 prefix -> local folder. Plans first, then writes: a hostile key, a symbolic link inside the
 * folder where something is to be written, a key that is both a file and a folder, or a name too
 * long for the file system refuses the whole sync before anything is written (a dry run reports
 * them too). Then every object is downloaded beside its target and, once all are down, renamed
 * into place; deletes come last.
 */
export async function syncS3ToFolder(
  s3: S3Api,
  source: string,
  folder: string,
  options: S3SyncOptions = {},
): Promise<S3SyncResult> {
  const location = parseS3Uri(source);
  const root = resolve(folder);
  const concurrency = options.concurrency ?? 16;
  const remote = await listS3(s3, location);
  for (const entry of remote) safeRelativePath(entry.path);
  const rootInfo = await lstat(root).catch(() => undefined);
  if (rootInfo && !rootInfo.isDirectory() && !(rootInfo.isSymbolicLink() && (await isFolder(root)))) {
    throw new SyncRefusedError(`${folder} is not a folder`);
  }
  const local = rootInfo ? await listLocal(root, concurrency) : [];
  await resolveMultipartMd5(s3, location.bucket, remote, local, concurrency);
  const plan = planSync(remote, local, options);
  const keyOf = (path: string) => `${location.prefix}${path}`;
  const problems = await downloadProblemsIn(root, rootInfo !== undefined, plan, keyOf, concurrency);
  if (problems.length > 0) {
    throw new SyncRefusedError(
      `refusing to download ${source} into ${folder}; nothing was written: ${describeProblems(problems)}`,
    );
  }
  const result = resultOf('download', options.dryRun ?? false, plan, keyOf, (path) => path);
  if (options.dryRun) return result;

  let done = 0;
  const total = plan.copy.length + plan.delete.length;
  const written: string[] = [];
  const deleted: string[] = [];
  const failed = (error: unknown): never => {
    const partial: SyncPlan = {
      copy: plan.copy.filter((e) => written.includes(e.path)),
      delete: plan.delete.filter((e) => deleted.includes(e.path)),
      unchanged: plan.unchanged,
    };
    const changed =
      written.length + deleted.length === 0
        ? `nothing in ${folder} was changed`
        : `${written.length} of ${plan.copy.length} file(s) were written and ${deleted.length} of ${plan.delete.length} deleted before it failed`;
    throw new SyncFailedError(
      `download of ${source} into ${folder} failed, ${changed}: ${(error as Error)?.message ?? String(error)}`,
      resultOf('download', false, partial, keyOf, (path) => path),
      { cause: error },
    );
  };
  await writeDownloads(
    s3,
    location.bucket,
    root,
    plan.copy.map((e) => ({ path: e.path, key: keyOf(e.path) })),
    {
      concurrency,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.log ? { log: options.log } : {}),
      onDownloaded: () => options.onProgress?.(++done, total),
    },
    written,
  ).catch(failed);
  for (const entry of plan.delete) {
    // Deletes are files listLocal found, never through a link: its walk does not follow one.
    await unlink(join(root, ...entry.path.split('/'))).catch(failed);
    deleted.push(entry.path);
    options.onProgress?.(++done, total);
  }
  options.log?.info(
    `synced ${source} -> ${folder}: ${result.copied.count} downloaded, ${result.deleted.count} deleted, ${result.unchanged.count} unchanged`,
  );
  return result;
}

/** Every reason the planned download would escape the folder or fail halfway, from one look at the folder. */
async function downloadProblemsIn(
  root: string,
  rootExists: boolean,
  plan: SyncPlan,
  keyOf: (path: string) => string,
  concurrency: number,
): Promise<string[]> {
  const writes = plan.copy.map((e) => e.path);
  const kinds = rootExists ? await inspectDestination(root, pathsToInspect(writes), concurrency) : new Map();
  return downloadProblems({
    source: [...plan.copy, ...plan.unchanged].map((e) => e.path),
    writes,
    kindOf: (path) => kinds.get(path),
    rootBytes: Buffer.byteLength(root),
    keyOf,
  });
}

async function isFolder(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}
