/**
 * A restarted service reuses the bundles of DAG files validated before, unchanged with their
 * helpers, instead of validating each file in isolation again; any change to the file or to
 * another file of the folder sends it through validation again.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from './helpers/run-cli.ts';
import { listDags } from '../runner/cli/dags-commands.ts';
import { ENTRY_FORMAT, VerifiedBundles, verifiedSummaries } from '../runner/deploy/verified-bundles.ts';
import { keepVerdicts } from '../runner/deploy/keep-verdicts.ts';
import { validate } from '../runner/loader/validate.ts';
import { structuralPolicy } from '../runner/loader/dag-registry.ts';
import { dagFileSource } from './helpers/dag-file.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const dagFile = dagFileSource('demo__verified', {
  description: 'DESCRIPTION',
  header: "import { DESCRIPTION } from './_lib/text.ts';",
});

/** A DAG that imports but cannot run: validate's structural checks refuse it. */
const cycleFile = `import { dag } from 'runway';
export default dag({
  id: 'demo__cycle',
  description: 'Two tasks that wait on each other.',
  owner: 'data-platform',
  tags: ['demo'],
  schedule: null,
  timezone: 'UTC',
  startDate: '2026-01-01',
})
  .task('one', { upstream: ['two' as never] }, async () => 1)
  .task('two', { upstream: ['one'] }, async () => 2);
`;

/** What one service start saw: the DAG's description if it loaded, how many DAGs it imported to start, and the problems. */
interface Start {
  description?: string;
  importedAtStart: number;
  problems: string[];
}

/** Starts a source over `dags` in a new process, as a restarted service would, and reports what it loaded. */
const STARTER = `
import { DagRegistry } from '${join(REPO_ROOT, 'runner/loader/dag-registry.ts')}';
import { LocalDagSource } from '${join(REPO_ROOT, 'runner/deploy/local-dag-source.ts')}';
const [dags, cacheDir] = process.argv.slice(2);
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const registry = new DagRegistry();
const source = new LocalDagSource(dags, registry, { log: silent, cacheDir });
const result = await source.refresh();
const importedAtStart = registry.importedCount();
// The module is imported here, on first use, from the bundle the source keeps while it runs.
const description = registry.get('demo__verified')?.dag.options.description;
await source.stop();
console.log(JSON.stringify({ description, importedAtStart, problems: result.problems.map((p) => p.message) }));
`;

/** A DAG folder inside the repository (so that its files resolve `runway`) and a shared cache folder. */
async function setup() {
  const root = join(REPO_ROOT, '.runway', `test-verified-${randomUUID().slice(0, 8)}`);
  const dags = join(root, 'dags');
  await mkdir(join(dags, '_lib'), { recursive: true });
  await writeFile(join(root, 'start.ts'), STARTER);
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const start = async (): Promise<Start> => {
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(root, 'start.ts'), dags, join(root, 'bundles')],
      { cwd: REPO_ROOT, encoding: 'utf8' },
    );
    if (child.status !== 0) throw new Error(`the start failed: ${child.stderr}`);
    return JSON.parse(child.stdout.trim().split('\n').pop()!) as Start;
  };
  const helper = (text: string) => writeFile(join(dags, '_lib', 'text.ts'), text);
  const verified = join(root, 'bundles', 'verified');
  const list = () => listDags({ folder: dags, cwd: REPO_ROOT, cacheDir: join(root, 'bundles') });
  /** The one summary kept, its owner rewritten: only a summary taken from the cache says "from-the-cache". */
  const ownerFromTheCache = async () => {
    const summaries = (await readdir(verified)).filter((name) => name.endsWith('.json'));
    expect(summaries).toHaveLength(1);
    const kept = join(verified, summaries[0]!);
    await writeFile(
      kept,
      (await readFile(kept, 'utf8')).replace('"owner":"data-platform"', '"owner":"from-the-cache"'),
    );
    return kept;
  };
  return { root, dags, start, helper, verified, list, ownerFromTheCache };
}

describe('verified bundles', () => {
  it('a restart loads the bundle validated before, without validating the unchanged file again', async () => {
    const { dags, start, helper, verified } = await setup();
    await helper("export const DESCRIPTION = 'Described by a helper, version one.';\n");
    await writeFile(join(dags, 'a.ts'), dagFile);
    expect(await start()).toEqual({
      description: 'Described by a helper, version one.',
      importedAtStart: 0,
      problems: [],
    });
    const bundles = (await readdir(verified)).filter((name) => name.endsWith('.mjs'));
    expect(bundles).toHaveLength(1);
    // Only a bundle taken from the cache can carry this text: the file itself still says version one.
    const kept = join(verified, bundles[0]!);
    await writeFile(kept, (await readFile(kept, 'utf8')).replace('version one', 'version kept'));
    expect(await start()).toEqual({
      description: 'Described by a helper, version kept.',
      importedAtStart: 0,
      problems: [],
    });
  });

  it('runway dags list shows a verified file from the summary a service kept, and a changed file from its import', async () => {
    const { dags, start, helper, list, ownerFromTheCache } = await setup();
    await helper("export const DESCRIPTION = 'Described by a helper, version one.';\n");
    await writeFile(join(dags, 'a.ts'), dagFile);
    await start();
    await ownerFromTheCache();
    expect((await list()).map(({ file, dag }) => [file, dag.dagId, dag.owner])).toEqual([
      [relative(REPO_ROOT, join(dags, 'a.ts')), 'demo__verified', 'from-the-cache'],
    ]);
    await writeFile(join(dags, 'a.ts'), dagFile.replace("owner: 'data-platform'", "owner: 'edited'"));
    expect((await list()).map(({ dag }) => dag.owner)).toEqual(['edited']);
  });

  it('runway dags list keeps its good verdicts: the next listing and a service starting on the folder take them', async () => {
    const { dags, start, helper, list, ownerFromTheCache } = await setup();
    await helper("export const DESCRIPTION = 'Described by a helper, version one.';\n");
    await writeFile(join(dags, 'a.ts'), dagFile);
    await writeFile(join(dags, 'cycle.ts'), cycleFile);
    expect((await list()).map(({ dag }) => dag.dagId)).toEqual(['demo__verified', 'demo__cycle']);
    // The good file only: a DAG with a cycle is listed but never counts as verified.
    const kept = await ownerFromTheCache();
    expect((await list()).map(({ dag }) => dag.owner)).toEqual(['from-the-cache', 'data-platform']);
    // A service takes the listing's bundle: only a bundle from the cache can carry this text.
    const bundle = kept.replace(/\.json$/, '.mjs');
    await writeFile(bundle, (await readFile(bundle, 'utf8')).replace('version one', 'version kept'));
    expect(await start()).toMatchObject({ description: 'Described by a helper, version kept.', importedAtStart: 0 });
  });

  it('runway dags list with wider import limits than a service keeps nothing, and lists a single file', async () => {
    const { root, dags, helper, verified } = await setup();
    await helper("export const DESCRIPTION = 'Described by a helper, version one.';\n");
    await writeFile(join(dags, 'a.ts'), dagFile);
    const cacheDir = join(root, 'bundles');
    // A file that imports only with five minutes or more memory must not be trusted by a service on its defaults.
    const wide = await listDags({ folder: dags, cwd: REPO_ROOT, cacheDir, importTimeoutMs: 300_000 });
    expect(wide.map(({ dag }) => dag.dagId)).toEqual(['demo__verified']);
    expect(await readdir(verified).catch(() => [])).toEqual([]);
    const one = await listDags({ folder: join(dags, 'a.ts'), cwd: REPO_ROOT, cacheDir });
    expect(one.map(({ file, dag }) => [file, dag.dagId])).toEqual([
      [relative(REPO_ROOT, join(dags, 'a.ts')), 'demo__verified'],
    ]);
  });

  it('an entry of another format (kept by another Runway version, or before summaries were) is not taken', async () => {
    const { root } = await setup();
    const cache = new VerifiedBundles(join(root, 'old-cache'));
    const bundleDir = join(root, 'process');
    await mkdir(join(root, 'old-cache'), { recursive: true });
    await mkdir(bundleDir, { recursive: true });
    const key = await cache.key('file-hash', 'helpers-hash');
    const entry = {
      dagId: 'demo__verified',
      bundle: 'bundles/demo__verified.0123456789abcdef.mjs',
      sha256: 'f'.repeat(64),
    };
    const summary = { dagId: 'demo__verified', owner: 'from-the-cache' };
    await writeFile(join(root, 'old-cache', `${key}.mjs`), 'export default 1;\n');
    const kept = async (json: object) => {
      await writeFile(join(root, 'old-cache', `${key}.json`), JSON.stringify(json));
      return [await cache.take(key, bundleDir, new Map()), await cache.summary(key, new Map())];
    };
    expect(await kept(entry)).toEqual([undefined, undefined]);
    expect(await kept({ ...entry, summary, dagFiles: {}, format: ENTRY_FORMAT + 1 })).toEqual([undefined, undefined]);
    // The same entry in this format is taken: what tells them apart is the format alone.
    expect(await kept({ ...entry, summary, dagFiles: {}, format: ENTRY_FORMAT })).toEqual([
      expect.objectContaining({ summary }),
      summary,
    ]);
  });

  it('a DAG file that imports another DAG file is validated again when that file changes', async () => {
    const { dags, start, helper, list } = await setup();
    await helper("export const DESCRIPTION = 'unused';\n");
    await writeFile(
      join(dags, 'a.ts'),
      dagFileSource('demo__verified', { description: 'DESCRIPTION', header: "import { DESCRIPTION } from './b.ts';" }),
    );
    const b = (version: string) =>
      dagFileSource('demo__imported', { header: `export const DESCRIPTION = '${version}';` });
    await writeFile(join(dags, 'b.ts'), b('From another DAG file, version one.'));
    expect((await start()).description).toBe('From another DAG file, version one.');
    await writeFile(join(dags, 'b.ts'), b('From another DAG file, version two.'));
    expect((await start()).description).toBe('From another DAG file, version two.');
    await writeFile(join(dags, 'b.ts'), b('From another DAG file, version three.'));
    expect((await list()).find(({ dag }) => dag.dagId === 'demo__verified')?.dag.description).toBe(
      'From another DAG file, version three.',
    );
  });

  it('keeps no verdict for a file edited between its validation and its bundling', async () => {
    const { root, dags, helper, verified } = await setup();
    await helper("export const DESCRIPTION = 'Described by a helper, version one.';\n");
    await writeFile(join(dags, 'a.ts'), dagFile);
    const { scan, cache } = await verifiedSummaries(dags, { cwd: REPO_ROOT, cacheDir: join(root, 'bundles') });
    const report = await validate([dags], { cwd: REPO_ROOT, policy: structuralPolicy() });
    expect(report.files.map((f) => f.dag?.description)).toEqual(['Described by a helper, version one.']);
    // Saved again after the import: the bundle would hold version two under version one's key.
    await helper("export const DESCRIPTION = 'Described by a helper, version two.';\n");
    await keepVerdicts(report, scan, dags, cache);
    expect(await readdir(verified).catch(() => [])).toEqual([]);
  });

  it('a changed helper sends the file through validation again, which reports what broke', async () => {
    const { dags, start, helper } = await setup();
    await helper("export const DESCRIPTION = 'Described by a helper, version one.';\n");
    await writeFile(join(dags, 'a.ts'), dagFile);
    expect(await start()).toEqual({
      description: 'Described by a helper, version one.',
      importedAtStart: 0,
      problems: [],
    });
    await helper("throw new Error('the helper broke');\nexport const DESCRIPTION = 'never';\n");
    const restarted = await start();
    expect(restarted.description).toBeUndefined();
    expect(restarted.problems.join('\n')).toMatch(/the helper broke/);
  });

  it('loads the folder all the same when the verified bundles cannot be written', async () => {
    const { root, dags, start, helper, verified } = await setup();
    await helper("export const DESCRIPTION = 'Described by a helper, version one.';\n");
    await writeFile(join(dags, 'a.ts'), dagFile);
    // A file where the folder should be: every write into it fails.
    await mkdir(join(root, 'bundles'), { recursive: true });
    await writeFile(verified, 'not a folder');
    expect(await start()).toEqual({
      description: 'Described by a helper, version one.',
      importedAtStart: 0,
      problems: [],
    });
    expect(await start()).toEqual({
      description: 'Described by a helper, version one.',
      importedAtStart: 0,
      problems: [],
    });
  });
});
