/** S3 sync against a real S3-protocol server (s3rver) and real folders. */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
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
import { syncFolderToS3, syncS3ToFolder, type S3Api } from '../runner/s3/sync.ts';
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
  }, 60_000);

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
