/**
 * Builds each DAG file into one self-contained ESM bundle with esbuild: the DAG's own helpers and
 * any package it uses are inlined, so the scheduler needs nothing but the bundle. Runway and its
 * dependencies stay imports: the scheduler provides them, and a DAG must share Runway's module
 * instance with the runner that executes it.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { BUNDLES_FOLDER } from './manifest.ts';
import { RUNWAY_PACKAGE_JSON } from '../package-file.ts';

export interface DagBundle {
  dagId: string;
  /** The DAG file, as shown to people. */
  source: string;
  /** `bundles/<dagId>.<hash>.mjs`: content-addressed, so an old manifest's bundles stay intact. */
  bundle: string;
  sha256: string;
  bytes: number;
  /** Every file the bundle was built from, absolute: the DAG file, its helpers, packages inlined. */
  inputs: string[];
}

export class BundleError extends Error {
  override readonly name = 'BundleError';
}

const RUNWAY_PACKAGE = RUNWAY_PACKAGE_JSON;

/** `runway`, `runway/*` and every runtime dependency of Runway: provided where DAGs run. */
export async function providedModules(): Promise<string[]> {
  const pkg = JSON.parse(await readFile(RUNWAY_PACKAGE, 'utf8')) as {
    name: string;
    dependencies?: Record<string, string>;
  };
  return [pkg.name, `${pkg.name}/*`, ...Object.keys(pkg.dependencies ?? {}).flatMap((d) => [d, `${d}/*`])];
}

export async function runwayVersion(): Promise<string> {
  return (JSON.parse(await readFile(RUNWAY_PACKAGE, 'utf8')) as { version: string }).version;
}

/**
 * Bundles each `{ dagId, file }` into `outDir/<bundle name>`. Output depends only on the sources
 * and their paths inside `root` (the DAG folder): the same DAGs give byte-identical bundles from
 * any checkout, so a re-deploy uploads nothing.
 */
export async function bundleDags(
  dags: readonly { dagId: string; file: string; absolutePath: string }[],
  outDir: string,
  root: string,
): Promise<DagBundle[]> {
  const external = await providedModules();
  return Promise.all(
    dags.map(async (dag) => {
      let text: Uint8Array;
      let inputs: string[];
      try {
        const result = await build({
          entryPoints: [dag.absolutePath],
          bundle: true,
          write: false,
          format: 'esm',
          platform: 'node',
          target: 'node20',
          external,
          // Paths in comments and the source map are relative to the DAG folder, wherever it is.
          absWorkingDir: root,
          outdir: join(root, '.bundle-out'),
          sourcemap: 'inline',
          // With the sources inside, stack traces point at DAG file lines wherever the bundle runs.
          sourcesContent: true,
          logLevel: 'silent',
          legalComments: 'none',
          metafile: true,
        });
        text = result.outputFiles[0]!.contents;
        inputs = Object.keys(result.metafile.inputs).map((input) => resolve(root, input));
      } catch (error) {
        const first = (error as { errors?: { text: string; location?: { file: string; line: number } }[] }).errors?.[0];
        const where = first?.location ? `${first.location.file}:${first.location.line}: ` : '';
        throw new BundleError(`${dag.file}: DAG "${dag.dagId}" cannot be bundled: ${where}${first?.text ?? error}`);
      }
      const sha256 = createHash('sha256').update(text).digest('hex');
      const name = `${dag.dagId}.${sha256.slice(0, 16)}.mjs`;
      await writeFile(join(outDir, name), text);
      return {
        dagId: dag.dagId,
        source: dag.file,
        bundle: `${BUNDLES_FOLDER}${name}`,
        sha256,
        bytes: text.length,
        inputs,
      };
    }),
  );
}
