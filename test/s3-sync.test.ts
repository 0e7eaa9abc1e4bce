/** S3 sync against a real S3-protocol server (s3rver) and real folders. */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SyncFailedError, syncFolderToS3, syncS3ToFolder, type S3Api } from '../runner/s3/sync.ts';
import { describeProblems, downloadProblems, pathsToInspect, type LocalKind } from '../runner/s3/download-plan.ts';
import { planSync, safeRelativePath, SyncRefusedError } from '../runner/s3/sync-plan.ts';
import { startLocalS3, type LocalS3 } from './helpers/s3rver.ts';

let s3: LocalS3;
let bucket = 0;
let target = '';
let dir = '';

beforeAll(async () => {
  s3 = await startLocalS3();
});
afterAll(async () => s3?.close());
beforeEach(async () => {
  const name = `sync-test-${++bucket}`;
  await s3.createBucket(name);
  target = `s3://${name}/data/`;
  dir = await mkdtemp(join(tmpdir(), 'runway-sync-'));
});

async function files(tree: Record<string, string | Buffer>, root = dir): Promise<void> {
  for (const [path, content] of Object.entries(tree)) {
    await mkdir(join(root, ...path.split('/').slice(0, -1)), { recursive: true });
    await writeFile(join(root, ...path.split('/')), content);
  }
}

async function keys(uri = target): Promise<string[]> {
  const [, name, prefix] = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri)!;
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.client.send(
      new ListObjectsV2Command({ Bucket: name, Prefix: prefix, ContinuationToken: token }),
    );
    out.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out.sort();
}

const bucketOf = () => /^s3:\/\/([^/]+)\//.exec(target)![1]!;

describe('local folder -> S3', () => {
  it('uploads by content: nothing after a fresh checkout (new mtimes), a same-size edit after it', async () => {
    await files({
      'a.csv': 'id\n1\n',
      'nested/deeper/b.json': '{"x":1}',
      'ünïcødé name.txt': 'hello',
      'empty.txt': '',
    });
    const first = await syncFolderToS3(s3.client, dir, target);
    expect(first.copied).toMatchObject({ count: 4, bytes: 5 + 7 + 5 });
    expect(await keys()).toEqual([
      'data/a.csv',
      'data/empty.txt',
      'data/nested/deeper/b.json',
      'data/ünïcødé name.txt',
    ]);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: bucketOf(), Key: 'data/a.csv' }));
    expect(head.ContentType).toBe('text/csv');
    expect(head.Metadata?.['runway-md5']).toMatch(/^[0-9a-f]{32}$/);

    const again = await syncFolderToS3(s3.client, dir, target);
    expect([again.copied.count, again.unchanged.count]).toEqual([0, 4]);

    const later = new Date(Date.now() + 3_600_000);
    for (const name of ['a.csv', 'empty.txt', 'ünïcødé name.txt']) await utimes(join(dir, name), later, later);
    expect((await syncFolderToS3(s3.client, dir, target)).copied.count).toBe(0);

    await writeFile(join(dir, 'a.csv'), 'id\n2\n');
    const edited = await syncFolderToS3(s3.client, dir, target);
    expect(edited.copied.keys).toEqual(['data/a.csv']);
    const body = await s3.client.send(new GetObjectCommand({ Bucket: bucketOf(), Key: 'data/a.csv' }));
    expect(await body.Body!.transformToString()).toBe('id\n2\n');
  });

  it('deletes what the source lacks only with delete, and never touches keys outside the prefix', async () => {
    await files({ 'keep.txt': 'k', 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c' });
    await syncFolderToS3(s3.client, dir, target);
    for (const Key of ['data-old/x.txt', 'other/y.txt', 'datafile.txt']) {
      await s3.client.send(new PutObjectCommand({ Bucket: bucketOf(), Key, Body: 'outside' }));
    }
    await rm(join(dir, 'a.txt'));
    expect((await syncFolderToS3(s3.client, dir, target)).deleted.count).toBe(0);
    const deleting = await syncFolderToS3(s3.client, dir, target, { delete: true });
    expect(deleting.deleted.keys).toEqual(['data/a.txt']);
    expect(await keys(`s3://${bucketOf()}/`)).toEqual([
      'data-old/x.txt',
      'data/b.txt',
      'data/c.txt',
      'data/keep.txt',
      'datafile.txt',
      'other/y.txt',
    ]);
  });

  it('refuses to delete from an empty or missing source, or more than half the destination, unless forced', async () => {
    await files({ 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c' });
    await syncFolderToS3(s3.client, dir, target);
    await rm(dir, { recursive: true });
    await expect(syncFolderToS3(s3.client, dir, target, { delete: true })).rejects.toThrow(
      /source folder .* does not exist/,
    );
    await mkdir(dir);
    await expect(syncFolderToS3(s3.client, dir, target, { delete: true })).rejects.toThrow(
      'refusing to delete 3 destination entries because the source is empty (pass force to allow)',
    );
    await files({ 'a.txt': 'a' });
    await expect(syncFolderToS3(s3.client, dir, target, { delete: true })).rejects.toThrow(
      'refusing to delete 2 of 3 destination entries (more than 50 %; pass force to allow)',
    );
    expect(await keys()).toHaveLength(3);
    expect((await syncFolderToS3(s3.client, dir, target, { delete: true, force: true })).deleted.count).toBe(2);
    expect(await keys()).toEqual(['data/a.txt']);
  });

  it('cancels the deletes when an upload fails', async () => {
    await files({ 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c', 'd.txt': 'd' });
    await syncFolderToS3(s3.client, dir, target);
    await rm(join(dir, 'd.txt'));
    await writeFile(join(dir, 'b.txt'), 'changed');
    const failing: S3Api = {
      send: ((command: { constructor: { name: string }; input: { Key?: string } }) => {
        if (command.constructor.name === 'PutObjectCommand' && command.input.Key === 'data/b.txt') {
          return Promise.reject(new Error('network down'));
        }
        return (s3.client as S3Client).send(command as never);
      }) as S3Api['send'],
    };
    await expect(syncFolderToS3(failing, dir, target, { delete: true })).rejects.toThrow('network down');
    expect(await keys()).toContain('data/d.txt');
  });

  it('filters with include and exclude globs, and changes nothing in a dry run', async () => {
    await files({ 'a.csv': '1', 'b.json': '2', 'tmp/c.csv': '3', '.hidden.csv': '4' });
    const dry = await syncFolderToS3(s3.client, dir, target, {
      dryRun: true,
      include: ['**/*.csv'],
      exclude: ['tmp/**'],
    });
    expect(dry).toMatchObject({ dryRun: true, copied: { keys: ['data/.hidden.csv', 'data/a.csv'] } });
    expect(await keys()).toEqual([]);
    await syncFolderToS3(s3.client, dir, target, { include: ['**/*.csv'], exclude: ['tmp/**'] });
    expect(await keys()).toEqual(['data/.hidden.csv', 'data/a.csv']);
  });

  it('uploads a 20 MB file in parts, and compares multipart objects by the MD5 kept in metadata', async () => {
    await files({ 'big.bin': randomBytes(20 * 1024 * 1024) });
    const first = await syncFolderToS3(s3.client, dir, target, {
      multipartThresholdBytes: 8 * 1024 * 1024,
      partSizeBytes: 5 * 1024 * 1024,
    });
    expect(first.copied.bytes).toBe(20 * 1024 * 1024);
    // Real S3 gives multipart objects an ETag that is not the MD5 ("…-4"); s3rver does not, so
    // the listing is made to look like real S3's: the sync must then read the MD5 from metadata.
    const realS3Listing: S3Api = {
      send: (async (command: { constructor: { name: string } }) => {
        const response = await (s3.client as S3Client).send(command as never);
        if (command.constructor.name === 'ListObjectsV2Command') {
          for (const object of (response as { Contents?: { ETag?: string }[] }).Contents ?? [])
            object.ETag = '"0123456789abcdef0123456789abcdef-4"';
        }
        return response;
      }) as S3Api['send'],
    };
    const again = await syncFolderToS3(realS3Listing, dir, target);
    expect([again.copied.count, again.unchanged.count]).toEqual([0, 1]);
  }, 180_000);

  it('lists and compares past 2,500 objects, over several pages', async () => {
    const tree: Record<string, string> = {};
    for (let i = 0; i < 2_600; i++) tree[`part-${String(i).padStart(5, '0')}.txt`] = `row ${i}`;
    await files(tree);
    expect((await syncFolderToS3(s3.client, dir, target, { concurrency: 32 })).copied.count).toBe(2_600);
    const again = await syncFolderToS3(s3.client, dir, target);
    expect([again.copied.count, again.unchanged.count]).toEqual([0, 2_600]);
  }, 120_000);
});

describe('S3 -> local folder', () => {
  it('downloads by content into nested folders, and deletes local files only with delete', async () => {
    const source = await mkdtemp(join(tmpdir(), 'runway-src-'));
    await files({ 'x/y/z.csv': 'a,b', 'top.txt': 'top', 'with space.txt': 's' }, source);
    await syncFolderToS3(s3.client, source, target);
    const first = await syncS3ToFolder(s3.client, target, dir);
    expect(first.copied.count).toBe(3);
    expect(await readFile(join(dir, 'x', 'y', 'z.csv'), 'utf8')).toBe('a,b');
    expect((await syncS3ToFolder(s3.client, target, dir)).copied.count).toBe(0);
    await writeFile(join(dir, 'stray.txt'), 'local only');
    await writeFile(join(dir, 'extra.txt'), 'local only');
    await expect(syncS3ToFolder(s3.client, target, dir, { delete: true, maxDeleteShare: 0.3 })).rejects.toBeInstanceOf(
      SyncRefusedError,
    );
    expect((await syncS3ToFolder(s3.client, target, dir, { delete: true })).deleted.keys.sort()).toEqual([
      'extra.txt',
      'stray.txt',
    ]);
    expect((await readdir(dir)).sort()).toEqual(['top.txt', 'with space.txt', 'x']);
  });

  it.each([
    ['../escape.txt', /contains "\." or "\.\."/],
    ['a/../../escape.txt', /contains "\." or "\.\."/],
    ['/etc/passwd', /absolute or Windows path/],
    ['C:/windows.txt', /absolute or Windows path/],
    ['a\\..\\b', /absolute or Windows path/],
    ['nul\0byte', /NUL character/],
    ['a//b', /empty path segment/],
  ])('refuses a hostile key part %j before writing anything', (key, message) => {
    expect(() => safeRelativePath(key)).toThrow(message);
  });

  it('refuses the whole download when one key would escape the folder', async () => {
    const hostile: S3Api = {
      send: (async (command: { constructor: { name: string } }) => {
        if (command.constructor.name === 'ListObjectsV2Command') {
          return {
            Contents: [
              { Key: 'data/ok.txt', Size: 1, ETag: '"0cc175b9c0f1b6a831c399e269772661"' },
              { Key: 'data/../../evil.txt', Size: 1 },
            ],
          };
        }
        throw new Error(`unexpected ${command.constructor.name}`);
      }) as S3Api['send'],
    };
    await expect(syncS3ToFolder(hostile, target, dir)).rejects.toThrow(
      /"\.\.\/\.\.\/evil\.txt" contains "\." or "\.\."/,
    );
    expect(await readdir(dir)).toEqual([]);
  });
});

/** Every path under `root`, folders with a trailing '/', symbolic links as `name -> target`. */
async function tree(root: string, under = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(root, under), { withFileTypes: true })) {
    const path = under ? `${under}/${entry.name}` : entry.name;
    if (entry.isSymbolicLink()) out.push(`${path} -> ${await readlink(join(root, path))}`);
    else if (entry.isDirectory()) out.push(`${path}/`, ...(await tree(root, path)));
    else out.push(path);
  }
  return out.sort();
}

async function putObjects(objects: Record<string, string>): Promise<void> {
  for (const [Key, Body] of Object.entries(objects)) {
    await s3.client.send(new PutObjectCommand({ Bucket: bucketOf(), Key, Body }));
  }
}

describe('S3 -> local folder: downloads never leave the folder, and fail before writing or not at all', () => {
  it('refuses to write through a symbolic link to a folder inside the destination, naming it', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'runway-outside-'));
    await symlink(outside, join(dir, 'sub'));
    await putObjects({ 'data/ok.txt': 'ok', 'data/sub/evil.txt': 'evil', 'data/sub/deeper/evil2.txt': 'evil' });
    for (const options of [{ dryRun: true }, {}]) {
      const sync = syncS3ToFolder(s3.client, target, dir, options);
      await expect(sync).rejects.toBeInstanceOf(SyncRefusedError);
      await expect(sync).rejects.toThrow(
        `refusing to download ${target} into ${dir}; nothing was written: "sub" is a symbolic link inside the destination; key "data/sub/deeper/evil2.txt" and 1 more would be written through it`,
      );
    }
    expect(await readdir(outside)).toEqual([]);
    expect(await tree(dir)).toEqual([`sub -> ${outside}`]);
  });

  it('refuses to replace a symbolic link to a file, and leaves links nothing is written through alone', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'runway-outside-'));
    await writeFile(join(outside, 'secret.txt'), 'mine');
    await symlink(join(outside, 'secret.txt'), join(dir, 'link.txt'));
    await symlink(outside, join(dir, 'elsewhere'));
    await putObjects({ 'data/link.txt': 'theirs', 'data/ok.txt': 'ok' });
    await expect(syncS3ToFolder(s3.client, target, dir)).rejects.toThrow(
      '"link.txt" is a symbolic link inside the destination, and key "data/link.txt" would replace it',
    );
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('mine');
    const fine = await syncS3ToFolder(s3.client, target, dir, { exclude: ['link.txt'] });
    expect(fine.copied.keys).toEqual(['data/ok.txt']);
    expect(await tree(dir)).toEqual([
      `elsewhere -> ${outside}`,
      `link.txt -> ${join(outside, 'secret.txt')}`,
      'ok.txt',
    ]);
  });

  it('reports a key that is both a file and a folder, and local files and folders in the way, before writing', async () => {
    await putObjects({
      'data/ok.txt': 'ok',
      'data/p/a': 'file',
      'data/p/a/b': 'under it',
      'data/q/r': 'r',
      'data/z': 'z',
    });
    await files({ q: 'a local file where a folder must go', 'z/keep.txt': 'a local folder where a file must go' });
    for (const options of [{ dryRun: true }, {}]) {
      await expect(syncS3ToFolder(s3.client, target, dir, options)).rejects.toThrow(
        `refusing to download ${target} into ${dir}; nothing was written: ` +
          'keys "data/p/a" and "data/p/a/b" clash: "p/a" cannot be both a file and a folder; ' +
          '"q" is a file in the destination, but key "data/q/r" needs a folder there; ' +
          '"z" is a folder in the destination, but key "data/z" is a file',
      );
    }
    expect(await tree(dir)).toEqual(['q', 'z/', 'z/keep.txt']);
  });

  it('downloads keys whose last segment is 255 bytes, and refuses one of 256 before writing', async () => {
    // s3rver keeps each object in a file named after the key's last segment plus 22 bytes, so it
    // cannot hold these keys (real S3 takes keys up to 1,024 bytes): they are stored under short
    // keys, and the listing and GETs are translated.
    const long = { ascii: 'x'.repeat(251) + '.csv', utf8: 'é'.repeat(126) + '.csv' }; // 255 and 256 bytes
    expect([Buffer.byteLength(long.ascii), Buffer.byteLength(long.utf8)]).toEqual([255, 256]);
    const stored: Record<string, string> = {
      'data/short-0': `data/${long.ascii}`,
      'data/short-1': `data/${long.utf8}`,
    };
    await putObjects({ 'data/short-0': 'ascii', 'data/short-1': 'utf8', [`data/${'y'.repeat(255)}/f.txt`]: 'deep' });
    const longKeys: S3Api = {
      send: (async (command: { constructor: { name: string }; input: { Key?: string } }) => {
        if (command.constructor.name === 'GetObjectCommand') {
          const key = Object.entries(stored).find(([, shown]) => shown === command.input.Key)?.[0];
          return s3.client.send(new GetObjectCommand({ Bucket: bucketOf(), Key: key ?? command.input.Key }));
        }
        const response = await (s3.client as S3Client).send(command as never);
        for (const object of (response as { Contents?: { Key?: string }[] }).Contents ?? [])
          object.Key = stored[object.Key!] ?? object.Key;
        return response;
      }) as S3Api['send'],
    };
    const result = await syncS3ToFolder(longKeys, target, dir, { exclude: [long.utf8] });
    expect(result.copied.count).toBe(2);
    expect(await readFile(join(dir, long.ascii), 'utf8')).toBe('ascii');
    expect(await readFile(join(dir, 'y'.repeat(255), 'f.txt'), 'utf8')).toBe('deep');
    expect(await tree(dir)).toEqual([long.ascii, `${'y'.repeat(255)}/`, `${'y'.repeat(255)}/f.txt`]);
    await expect(syncS3ToFolder(longKeys, target, dir)).rejects.toThrow(
      `nothing was written: key "data/${long.utf8.slice(0, 72)}…" has a name of 256 bytes; file names are at most 255`,
    );
    expect(await tree(dir)).toEqual([long.ascii, `${'y'.repeat(255)}/`, `${'y'.repeat(255)}/f.txt`]);
  });

  it('changes nothing when a download fails: no file replaced, no folder or temporary file left', async () => {
    await files({ 'a.txt': 'old a', 'keep.txt': 'keep' });
    await putObjects({ 'data/a.txt': 'new a', 'data/new/b.txt': 'b', 'data/new/c.txt': 'c', 'data/keep.txt': 'keep' });
    const failing: S3Api = {
      send: ((command: { constructor: { name: string }; input: { Key?: string } }) => {
        if (command.constructor.name === 'GetObjectCommand' && command.input.Key === 'data/new/c.txt')
          return Promise.reject(new Error('connection reset'));
        return (s3.client as S3Client).send(command as never);
      }) as S3Api['send'],
    };
    const sync = syncS3ToFolder(failing, target, dir, { concurrency: 1 });
    await expect(sync).rejects.toBeInstanceOf(SyncFailedError);
    await expect(sync).rejects.toThrow(
      `download of ${target} into ${dir} failed, nothing in ${dir} was changed: connection reset`,
    );
    const error = (await sync.catch((e: unknown) => e)) as SyncFailedError;
    expect(error.partial).toMatchObject({ copied: { count: 0, keys: [] }, deleted: { count: 0 } });
    expect(await tree(dir)).toEqual(['a.txt', 'keep.txt']);
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('old a');
  });

  it('downloads into a destination that is itself a link to a folder (the one named), and refuses a file', async () => {
    await putObjects({ 'data/x/y.txt': 'y' });
    const real = await mkdtemp(join(tmpdir(), 'runway-real-'));
    await symlink(real, join(dir, 'named'));
    expect((await syncS3ToFolder(s3.client, target, join(dir, 'named'))).copied.keys).toEqual(['data/x/y.txt']);
    expect(await tree(real)).toEqual(['x/', 'x/y.txt']);
    await writeFile(join(dir, 'a-file'), 'not a folder');
    await expect(syncS3ToFolder(s3.client, target, join(dir, 'a-file'))).rejects.toThrow(
      new SyncRefusedError(`${join(dir, 'a-file')} is not a folder`),
    );
    await expect(syncS3ToFolder(s3.client, target, join(dir, 'new', 'deeper'))).resolves.toMatchObject({
      copied: { count: 1 },
    });
    expect(await readFile(join(dir, 'new', 'deeper', 'x', 'y.txt'), 'utf8')).toBe('y');
  });

  it('checks each folder again right before writing under it: one that became a link stops the sync', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'runway-outside-'));
    await mkdir(join(dir, 'b'));
    await putObjects({ 'data/a/1.txt': '1', 'data/b/2.txt': '2' });
    // While the first object downloads, the planned folder b is swapped for a link to elsewhere.
    const swapping: S3Api = {
      send: (async (command: { constructor: { name: string }; input: { Key?: string } }) => {
        if (command.constructor.name === 'GetObjectCommand' && command.input.Key === 'data/a/1.txt') {
          await rm(join(dir, 'b'), { recursive: true });
          await symlink(outside, join(dir, 'b'));
        }
        return (s3.client as S3Client).send(command as never);
      }) as S3Api['send'],
    };
    await expect(syncS3ToFolder(swapping, target, dir, { concurrency: 1 })).rejects.toThrow(
      `download of ${target} into ${dir} failed, nothing in ${dir} was changed: "b" became a symbolic link during the sync`,
    );
    expect(await readdir(outside)).toEqual([]);
    expect(await tree(dir)).toEqual([`b -> ${outside}`]);
  });

  it('reports what it changed when a later step fails: the files written and the deletes done', async () => {
    await files({ 'a.txt': 'old a', 'b.txt': 'b', 'c.txt': 'c', 'stray.txt': 'local only' });
    await putObjects({ 'data/a.txt': 'new a', 'data/b.txt': 'b', 'data/c.txt': 'c', 'data/d.txt': 'd' });
    // Once both downloads are done, and before the delete, a folder takes the stray file's place.
    const onProgress = (done: number) => {
      if (done !== 2) return;
      rmSync(join(dir, 'stray.txt'));
      mkdirSync(join(dir, 'stray.txt'));
    };
    const sync = syncS3ToFolder(s3.client, target, dir, { delete: true, onProgress });
    const error = (await sync.catch((e: unknown) => e)) as SyncFailedError;
    expect(error).toBeInstanceOf(SyncFailedError);
    expect(error.message).toMatch(
      /failed, 2 of 2 file\(s\) were written and 0 of 1 deleted before it failed: E(ISDIR|PERM)/,
    );
    expect(error.partial).toMatchObject({
      copied: { count: 2, keys: ['data/a.txt', 'data/d.txt'] },
      deleted: { count: 0, keys: [] },
      unchanged: { count: 2 },
    });
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('new a');
  });
});

describe('downloadProblems', () => {
  const layout = (writes: string[], kinds: Record<string, LocalKind> = {}, rootBytes = 10) => ({
    source: writes,
    writes,
    kindOf: (path: string) => kinds[path],
    rootBytes,
    keyOf: (path: string) => `p/${path}`,
  });

  it('finds nothing in the way of a clean download, and inspects folders before what is under them', () => {
    expect(downloadProblems(layout(['a/b/c.txt', 'a/d.txt'], { a: 'folder', 'a/d.txt': 'file' }))).toEqual([]);
    expect(pathsToInspect(['a/b/c.txt', 'a/d.txt', 'e.txt'])).toEqual(['a', 'e.txt', 'a/b', 'a/d.txt', 'a/b/c.txt']);
  });

  it('refuses a path longer than the kernel takes, and a special file where a file goes', () => {
    const deep = Array.from({ length: 20 }, () => 'd'.repeat(200)).join('/') + '/f.txt';
    expect(downloadProblems(layout([deep], {}, 100))).toEqual([
      `key "p/${deep.slice(0, 75)}…" would be written at a path of 4126 bytes; paths are at most 4095`,
    ]);
    expect(downloadProblems(layout(['fifo'], { fifo: 'other' }))).toEqual([
      '"fifo" is not a regular file (a socket, FIFO or device); key "p/fifo" would replace it',
    ]);
  });

  it('lists at most ten problems and counts the rest', () => {
    const problems = Array.from({ length: 12 }, (_, i) => `problem ${i}`);
    expect(describeProblems(problems)).toBe(`${problems.slice(0, 10).join('; ')}; and 2 more`);
  });
});

describe('planSync', () => {
  it('copies new and changed entries, keeps equal ones, deletes missing ones with delete', () => {
    const plan = planSync(
      [
        { path: 'same', size: 1, md5: 'a' },
        { path: 'changed', size: 1, md5: 'b' },
        { path: 'new', size: 1, md5: 'c' },
      ],
      [
        { path: 'same', size: 1, md5: 'a' },
        { path: 'changed', size: 1, md5: 'x' },
        { path: 'gone', size: 1, md5: 'd' },
      ],
      { delete: true },
    );
    expect([plan.copy, plan.unchanged, plan.delete].map((l) => l.map((e) => e.path))).toEqual([
      ['changed', 'new'],
      ['same'],
      ['gone'],
    ]);
  });
});
