/**
 * A watched local DAG folder, in-process with real files: a DAG id declared twice stays with the
 * file that had it, a changed helper reloads the DAGs built on it, a broken file keeps its last good
 * version, a folder that cannot be watched is rescanned by polling, and bundles a killed process
 * left are removed.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, type FSWatcher } from 'node:fs';
import { EventEmitter } from 'node:events';
import { mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DagRegistry } from '../runner/loader/dag-registry.ts';
import { LocalDagSource } from '../runner/deploy/local-dag-source.ts';
import type { Logger } from '../runner/core/operator.ts';
import { REPO_ROOT } from './helpers/run-cli.ts';
import { until } from './helpers/services.ts';
import { dagFileSource } from './helpers/dag-file.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A DAG folder inside the repository (so that its files resolve `runway`), and a source over it. */
async function folder(options: { watchFolder?: () => FSWatcher; pollEverySeconds?: number } = {}) {
  const root = join(REPO_ROOT, '.runway', `test-local-${randomUUID().slice(0, 8)}`);
  const dags = join(root, 'dags');
  await mkdir(join(dags, '_lib'), { recursive: true });
  const logs: string[] = [];
  const log: Logger = {
    info: (m) => logs.push(`INFO ${m}`),
    warn: (m) => logs.push(`WARN ${m}`),
    error: (m) => logs.push(`ERROR ${m}`),
  };
  const registry = new DagRegistry();
  const source = new LocalDagSource(dags, registry, { log, cacheDir: join(root, 'bundles'), ...options });
  cleanups.push(async () => {
    await source.stop();
    await rm(root, { recursive: true, force: true });
  });
  const write = (name: string, text: string) => writeFile(join(dags, name), text);
  const shown = (name: string) => relative(REPO_ROOT, join(dags, name));
  return { dags, registry, source, logs, write, shown, bundles: join(root, 'bundles') };
}

const dagFile = (id: string, description = "'A DAG of a watched local folder.'", header = '') =>
  dagFileSource(id, { description, header });

describe('LocalDagSource', () => {
  it('keeps a DAG id with the file that had it, reloads what a helper feeds, and keeps the last good version', async () => {
    const { registry, source, write, shown, dags } = await folder();
    await write('_lib/text.ts', "export const DESCRIPTION = 'Described by a shared helper, version one.';\n");
    await write('a.ts', dagFile('demo__local_a', 'DESCRIPTION', "import { DESCRIPTION } from './_lib/text.ts';"));
    await write('b.ts', dagFile('demo__local_b'));
    const first = await source.refresh();
    expect(first).toMatchObject({ changed: true, updated: [], removed: [], problems: [] });
    expect(first.added.sort()).toEqual(['demo__local_a', 'demo__local_b']);
    expect(await source.refresh()).toMatchObject({ changed: false, added: [], updated: [] });

    // A second file declaring demo__local_b: refused, naming the file that has it.
    await write('dup.ts', dagFile('demo__local_b', "'The same id, declared again elsewhere.'"));
    expect((await source.refresh()).problems).toEqual([
      {
        file: shown('dup.ts'),
        dagId: 'demo__local_b',
        rule: 'duplicate-dag-id',
        message: `DAG id "demo__local_b" is also declared in ${shown('b.ts')}`,
      },
    ]);
    expect(registry.get('demo__local_b')!.file).toBe(shown('b.ts'));

    // The helper changes: the DAG built on it reloads, the other does not.
    await write('_lib/text.ts', "export const DESCRIPTION = 'Described by a shared helper, version two.';\n");
    expect(await source.refresh()).toMatchObject({ updated: ['demo__local_a'], added: [] });
    expect(registry.get('demo__local_a')!.summary.description).toBe('Described by a shared helper, version two.');

    // Broken at import: the version loaded keeps running, and the problem names its DAG. (The
    // duplicate is looked at again on every change, and still refused.)
    await write('a.ts', `${dagFile('demo__local_a')}\nthrow new Error('half-saved');\n`);
    const broken = await source.refresh();
    expect(broken.problems).toEqual([
      expect.objectContaining({
        file: shown('a.ts'),
        dagId: 'demo__local_a',
        rule: 'import-error',
        message: expect.stringMatching(/half-saved.*; the previous version keeps running$/),
      }),
      expect.objectContaining({ file: shown('dup.ts'), rule: 'duplicate-dag-id' }),
    ]);
    expect(registry.get('demo__local_a')!.summary.description).toBe('Described by a shared helper, version two.');
    expect(source.problems().map((p) => p.file)).toEqual([shown('a.ts'), shown('dup.ts')]);

    // b.ts removed: its id is free, and the file refused for it loads.
    await unlink(join(dags, 'b.ts'));
    expect(await source.refresh()).toMatchObject({ removed: [], added: [], updated: ['demo__local_b'] });
    expect(registry.get('demo__local_b')!.file).toBe(shown('dup.ts'));
    expect(source.problems().map((p) => p.file)).toEqual([shown('a.ts')]);

    // Removed for good: no longer scheduled.
    await unlink(join(dags, 'dup.ts'));
    expect(await source.refresh()).toMatchObject({ removed: ['demo__local_b'] });
    expect(registry.list().map((d) => d.summary.dagId)).toEqual(['demo__local_a']);
  });

  it('reloads a DAG whose file imports another DAG file when that file changes', async () => {
    const { registry, source, write } = await folder();
    const imported = (version: string) =>
      dagFile('demo__local_imported', `'${version}'`, `export const TEXT = '${version}';`);
    await write('b.ts', imported('From another DAG file, version one.'));
    await write('a.ts', dagFile('demo__local_importer', 'TEXT', "import { TEXT } from './b.ts';"));
    await source.refresh();
    expect(registry.get('demo__local_importer')!.summary.description).toBe('From another DAG file, version one.');
    await write('b.ts', imported('From another DAG file, version two.'));
    expect((await source.refresh()).updated.sort()).toEqual(['demo__local_imported', 'demo__local_importer']);
    expect(registry.get('demo__local_importer')!.summary.description).toBe('From another DAG file, version two.');
  });

  it('rescans by polling, and says so, where the folder cannot be watched', async () => {
    const { registry, source, write, logs, bundles } = await folder({
      watchFolder: () => {
        throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), {
          code: 'ENOSPC',
        });
      },
      pollEverySeconds: 0.2,
    });
    // A process killed without stopping left its bundle folder behind: the next one removes it.
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    await mkdir(join(bundles, `local-${dead}`), { recursive: true });
    await writeFile(join(bundles, `local-${dead}`, 'left.mjs'), 'export default 1;\n');
    await source.refresh();
    expect(existsSync(join(bundles, `local-${dead}`))).toBe(false);
    source.start();
    expect(logs).toContainEqual(expect.stringMatching(/^WARN cannot watch .*\(ENOSPC: .*\); checking it by polling$/));
    await write('c.ts', dagFile('demo__local_c'));
    await until('the new file to load by polling', async () => (registry.get('demo__local_c') ? true : undefined));
    expect(logs).toContainEqual(expect.stringMatching(/^INFO DAGs from .*: added demo__local_c$/));
  });

  it('notices a change the watcher missed, by its rescan', async () => {
    // A watcher that never reports, as Linux's recursive one does for a file an editor replaced by a rename.
    const deaf = () => Object.assign(new EventEmitter(), { close: () => undefined }) as unknown as FSWatcher;
    const { registry, source, write } = await folder({ watchFolder: deaf, pollEverySeconds: 0.2 });
    await write('d.ts', dagFile('demo__local_d'));
    await source.refresh();
    source.start();
    await write('d.ts', dagFile('demo__local_d', "'The second version of D, saved by an editor.'"));
    await until('the change to load without a watch event', async () =>
      registry.get('demo__local_d')?.summary.description === 'The second version of D, saved by an editor.'
        ? true
        : undefined,
    );
  });
});
