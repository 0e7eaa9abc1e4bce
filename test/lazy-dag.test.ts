/**
 * A DAG registered by its summary imports its bundle when something needs a function of it, and
 * says why when the bundle cannot give it: another DAG in the bundle, top-level await on the
 * synchronous path.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dag } from 'runway';
import { DagRegistry, lazyDag } from '../runner/loader/dag-registry.ts';
import { summarizeDag } from '../runner/core/dag-summary.ts';
import { testRunway, type TestRunway } from './helpers/runway.ts';
import { REPO_ROOT } from './helpers/run-cli.ts';
import { summary, task } from './helpers/summary.ts';
import { dagFileSource } from './helpers/dag-file.ts';

// Inside the repository, so that the bundles resolve `runway`.
const folder = join(REPO_ROOT, '.runway', `test-lazy-dag-${randomUUID().slice(0, 8)}`);
let runway: TestRunway | undefined;
afterAll(async () => {
  await runway?.close();
  await rm(folder, { recursive: true, force: true });
});

/** A bundle declaring DAG `id` with one task; `before` runs first at its top level. */
async function bundle(name: string, id: string, before = ''): Promise<string> {
  await mkdir(folder, { recursive: true });
  const path = join(folder, `${name}.mjs`);
  await writeFile(path, dagFileSource(id, { description: "'A bundle for the lazy registry test.'", header: before }));
  return path;
}

const summaryOf = (dagId: string) => summary({ dagId, schedule: null, tasks: [task('one')] });

describe('a lazily loaded DAG', () => {
  it('is registered from its summary, and imports its bundle on first use', async () => {
    const path = await bundle('plain', 'demo__lazy_plain');
    const registry = new DagRegistry([lazyDag(summaryOf('demo__lazy_plain'), path, 'plain.ts')]);
    expect(registry.importedCount()).toBe(0);
    expect(registry.get('demo__lazy_plain')!.graph.map((t) => t.id)).toEqual(['one']);
    const loaded = await registry.imported('demo__lazy_plain');
    expect(loaded!.tasks.has('one')).toBe(true);
    expect(registry.importedCount()).toBe(1);
  });

  it('refuses a bundle that declares another DAG than its summary', async () => {
    const path = await bundle('other', 'demo__lazy_other');
    const loaded = lazyDag(summaryOf('demo__lazy_expected'), path);
    await expect(loaded.load!()).rejects.toThrow(
      'the bundle declares DAG "demo__lazy_other", not "demo__lazy_expected"',
    );
  });

  it('tries its import again on the next use after one failed (a bundle not there yet)', async () => {
    // In a Node process of its own: vitest's module runner remembers a failed import, Node does not.
    const path = join(folder, 'late.mjs');
    await mkdir(folder, { recursive: true });
    const script = join(folder, 'late-check.ts');
    await writeFile(
      script,
      `import { lazyDag } from '${join(REPO_ROOT, 'runner/loader/dag-registry.ts')}';
import { summary, task } from '${join(REPO_ROOT, 'test/helpers/summary.ts')}';
import { copyFile } from 'node:fs/promises';
const loaded = lazyDag(summary({ dagId: 'demo__lazy_late', schedule: null, tasks: [task('one')] }), ${JSON.stringify(path)});
const first = await loaded.load!().then(() => 'loaded', (error: Error) => error.message);
await copyFile(${JSON.stringify(await bundle('late-source', 'demo__lazy_late'))}, ${JSON.stringify(path)});
await loaded.load!();
console.log(JSON.stringify({ first, then: loaded.dag.options.id }));
`,
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(child.stderr).toBe('');
    const outcome = JSON.parse(child.stdout.trim()) as { first: string; then: string };
    expect(outcome.first).toMatch(/late\.mjs/);
    expect(outcome.then).toBe('demo__lazy_late');
  });

  it('a DAG file with top-level await runs a mapped task over a literal list: the engine awaits its import', async () => {
    const declaration = `dag({
  id: 'demo__lazy_mapped',
  description: 'A mapped task over a literal list, in a file with top-level await.',
  owner: 'data-platform',
  tags: ['demo'],
  schedule: null,
  timezone: 'UTC',
  startDate: '2026-01-01',
})
  .expand('each', { over: [1, 2, 3] }, (n) => async () => n * 10)
  .task('sum', { upstream: ['each'] }, async (ctx) => ctx.upstream.each.reduce((a, b) => a + b, 0))`;
    const path = join(folder, 'mapped.mjs');
    await mkdir(folder, { recursive: true });
    await writeFile(path, `import { dag } from 'runway';\nawait Promise.resolve();\nexport default ${declaration};\n`);
    // The summary a service keeps for it: the same declaration, evaluated here without the await.
    const same = new Function('dag', `return ${declaration};`) as (d: typeof dag) => ReturnType<typeof dag>;
    runway = testRunway([lazyDag(summarizeDag(same(dag)), path, 'mapped.ts')]);
    runway.worker();
    const run = await runway.trigger('demo__lazy_mapped');
    expect((await runway.waitForRun('demo__lazy_mapped', run.runId)).state).toBe('success');
    expect((await runway.engine.store.outputs('demo__lazy_mapped', run.runId, ['sum'])).sum).toBe(60);
  });

  it('says so when a bundle with top-level await is needed synchronously, and loads it when awaited', async () => {
    const path = await bundle('awaits', 'demo__lazy_awaits', 'await Promise.resolve();');
    const synchronous = lazyDag(summaryOf('demo__lazy_awaits'), path);
    expect(() => synchronous.dag).toThrow(/DAG "demo__lazy_awaits" could not be imported from .*awaits\.mjs/);
    const awaited = lazyDag(summaryOf('demo__lazy_awaits'), path);
    await awaited.load!();
    expect(awaited.dag.options.id).toBe('demo__lazy_awaits');
  });
});
