/**
 * A watched folder is rescanned every 2 s: an unchanged folder costs a stat per file, no read; an
 * edit (even one that keeps the size and writes the old mtime back, as `aws s3 sync` and `cp -p`
 * do), an addition and a removal are still seen.
 */
import { mkdir, mkdtemp, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FolderScanner, scanFolder } from '../runner/deploy/folder-scan.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function folder() {
  const root = await mkdtemp(join(tmpdir(), 'runway-folder-scan-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, '_lib'));
  await writeFile(join(root, 'a.ts'), "export const version = 'one';\n");
  await writeFile(join(root, 'b.ts'), "export const version = 'two';\n");
  await writeFile(join(root, '_lib', 'text.ts'), "export const TEXT = 'shared';\n");
  return root;
}

/** A clock 10 s ahead: every file written by the test counts as settled, not just changed. */
const settled = () => Date.now() + 10_000;

describe('FolderScanner', () => {
  it('reads no file of an unchanged folder, and sees an edit that keeps size and mtime, an addition and a removal', async () => {
    const root = await folder();
    // Whole seconds, as S3's LastModified that `aws s3 sync` writes to a file it downloads.
    const a = join(root, 'a.ts');
    const lastModified = new Date('2026-03-01T12:00:00Z');
    await utimes(a, lastModified, lastModified);
    const scanner = new FolderScanner(root, root, { now: settled });
    const first = await scanner.scan();
    expect(first.reads).toBe(3);
    expect([...first.dags.keys()].sort()).toEqual([join(root, 'a.ts'), join(root, 'b.ts')]);

    const unchanged = await scanner.scan();
    expect(unchanged.reads).toBe(0);
    expect(unchanged).toEqual({ ...first, reads: 0 });

    // Same size, and the old mtime written back: only the ctime (set by the kernel) tells.
    const size = (await stat(a)).size;
    await writeFile(a, "export const version = 'uno';\n");
    await utimes(a, lastModified, lastModified);
    expect(await stat(a)).toMatchObject({ size, mtimeMs: lastModified.getTime() });
    const edited = await scanner.scan();
    expect(edited.reads).toBe(1);
    expect(edited.dags.get(a)).not.toBe(first.dags.get(a));
    expect(edited.dags.get(join(root, 'b.ts'))).toBe(first.dags.get(join(root, 'b.ts')));
    expect(edited.dags).toEqual((await scanFolder(root, root)).dags);

    await writeFile(join(root, 'c.ts'), "export const version = 'three';\n");
    await unlink(join(root, 'b.ts'));
    const moved = await scanner.scan();
    expect(moved.reads).toBe(1);
    expect([...moved.dags.keys()].sort()).toEqual([a, join(root, 'c.ts')]);

    // A helper edited: the helpers' hash changes, as it does for a folder read from scratch.
    await writeFile(join(root, '_lib', 'text.ts'), "export const TEXT = 'shared, version two';\n");
    const helper = await scanner.scan();
    expect(helper.reads).toBe(1);
    expect(helper.helpers).not.toBe(moved.helpers);
    expect(helper.helpers).toBe((await scanFolder(root, root)).helpers);
  });

  it('reads a file changed within the last 2 s again on the next scan: a second write in the same tick keeps its stat', async () => {
    const root = await folder();
    const scanner = new FolderScanner(root, root);
    expect((await scanner.scan()).reads).toBe(3);
    // Just written: nothing tells a write in the timestamp tick of the last one, so it is read again.
    expect((await scanner.scan()).reads).toBe(3);
  });

  it('reads every file again every 5 minutes, whatever their stat says', async () => {
    const root = await folder();
    let now = settled();
    const scanner = new FolderScanner(root, root, { now: () => now });
    expect((await scanner.scan()).reads).toBe(3);
    now += 60_000;
    expect((await scanner.scan()).reads).toBe(0);
    now += 5 * 60_000;
    expect((await scanner.scan()).reads).toBe(3);
    expect((await scanner.scan()).reads).toBe(0);
  });
});
