/**
 * `runway init [folder]`: scaffolds a DAG repository that uses Runway as an installed package, the
 * way an Airflow team keeps its DAGs apart from Airflow: an example DAG, the team policy, a
 * tsconfig, ESLint, the two GitHub workflows and the husky hooks, and a package.json whose scripts
 * call the installed `runway`. It never overwrites: everything is checked before the first write.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUNWAY_PACKAGE_JSON } from '../package-file.ts';

/**
 * `_github/…` in the package becomes `.github/…` (npm pack leaves out or renames some dot files), and
 * `eslint.config.js.template` becomes `eslint.config.js` (ESLint would take it for Runway's own).
 */
const TEMPLATE_DIR = fileURLToPath(new URL('templates/dag-repo/', RUNWAY_PACKAGE_JSON));

/** The tools the scripts and hooks call, at the versions Runway itself is built and tested with. */
const DEV_TOOLS = [
  'typescript',
  '@types/node',
  'eslint',
  '@eslint/js',
  'typescript-eslint',
  'prettier',
  'husky',
  'lint-staged',
];

export class InitError extends Error {
  override readonly name = 'InitError';
}

export interface InitResult {
  folder: string;
  /** Paths relative to `folder`, in the order written. */
  written: string[];
  /** True when a package.json was there and init only added to it. */
  packageJsonMerged: boolean;
}

type Json = Record<string, unknown>;

async function templateFiles(): Promise<{ from: string; to: string }[]> {
  const names = await readdir(TEMPLATE_DIR, { recursive: true, withFileTypes: true });
  return names
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const from = join(entry.parentPath, entry.name);
      const to = relative(TEMPLATE_DIR, from)
        .split('/')
        .map((part) => part.replace(/^_/, '.'))
        .join('/')
        .replace(/\.template$/, '');
      return { from, to };
    })
    .sort((a, b) => a.to.localeCompare(b.to));
}

async function runwayPackage(): Promise<{ version: string; devDependencies: Record<string, string> }> {
  return JSON.parse(await readFile(RUNWAY_PACKAGE_JSON, 'utf8')) as {
    version: string;
    devDependencies: Record<string, string>;
  };
}

/** What init puts in package.json; a package.json already there gets the keys it lacks. */
async function packageJsonFields(folder: string): Promise<Json> {
  const runway = await runwayPackage();
  const name = basename(folder)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '');
  return {
    name: name || 'dags',
    private: true,
    type: 'module',
    scripts: {
      typecheck: 'tsc --noEmit',
      lint: 'eslint .',
      format: 'prettier --write .',
      'format:check': 'prettier --check .',
      validate: 'runway validate',
      test: 'npm run typecheck && npm run lint && runway validate',
      start: 'runway standalone',
      prepare: 'husky',
    },
    dependencies: { runway: `^${runway.version}` },
    devDependencies: Object.fromEntries(
      DEV_TOOLS.filter((tool) => runway.devDependencies[tool]).map((tool) => [tool, runway.devDependencies[tool]]),
    ),
    'lint-staged': {
      '*.{ts,js}': ['prettier --write', 'eslint --fix'],
      '*.{json,md,yml,yaml}': ['prettier --write'],
    },
  };
}

/**
 * Adds to `existing` what it lacks of `wanted`, one level into objects. A key whose value differs is
 * a conflict (the repository's own script is not replaced); a dependency already named is kept as is.
 */
function merge(existing: Json, wanted: Json, conflicts: string[]): Json {
  const merged: Json = { ...existing };
  for (const [key, value] of Object.entries(wanted)) {
    const current = existing[key];
    if (current === undefined) {
      merged[key] = value;
    } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      if (typeof current !== 'object' || current === null || Array.isArray(current)) {
        conflicts.push(key);
        continue;
      }
      const inner: Json = { ...(current as Json) };
      for (const [innerKey, innerValue] of Object.entries(value as Json)) {
        const had = (current as Json)[innerKey];
        if (had === undefined) inner[innerKey] = innerValue;
        else if (key.endsWith('ependencies') || key === 'lint-staged') continue;
        else if (JSON.stringify(had) !== JSON.stringify(innerValue)) conflicts.push(`${key}.${innerKey}`);
      }
      merged[key] = inner;
    } else if (key !== 'name' && key !== 'private' && JSON.stringify(current) !== JSON.stringify(value)) {
      conflicts.push(key);
    }
  }
  return merged;
}

export async function initRepository(folderArgument: string): Promise<InitResult> {
  const folder = resolve(folderArgument);
  const files = await templateFiles();
  const existing = files.filter((file) => existsSync(join(folder, file.to))).map((file) => file.to);
  if (existing.length > 0) {
    throw new InitError(
      `${folder} already has ${existing.join(', ')}: runway init writes only files that are not there, and wrote nothing. Move them away or init another folder.`,
    );
  }
  const packagePath = join(folder, 'package.json');
  const wanted = await packageJsonFields(folder);
  let packageJson = wanted;
  let packageJsonMerged = false;
  if (existsSync(packagePath)) {
    let current: unknown;
    try {
      current = JSON.parse(await readFile(packagePath, 'utf8'));
    } catch (error) {
      throw new InitError(`${packagePath} is not valid JSON (${(error as Error).message}); runway init wrote nothing`);
    }
    if (typeof current !== 'object' || current === null || Array.isArray(current)) {
      throw new InitError(`${packagePath} is not a JSON object; runway init wrote nothing`);
    }
    const conflicts: string[] = [];
    packageJson = merge(current as Json, wanted, conflicts);
    if (conflicts.length > 0) {
      throw new InitError(
        `${packagePath} already sets ${conflicts.join(', ')} to something else than runway init would; it wrote nothing. Remove or rename those keys, then run it again.`,
      );
    }
    packageJsonMerged = true;
  }

  const written: string[] = [];
  try {
    for (const file of files) {
      const to = join(folder, file.to);
      await mkdir(dirname(to), { recursive: true });
      // `wx`: a file that appeared since the check above is still not overwritten.
      await writeFile(to, await readFile(file.from), { flag: 'wx' });
      written.push(file.to);
    }
    await writeFile(packagePath, `${JSON.stringify(packageJson, null, 2)}\n`);
  } catch (error) {
    // Half a scaffold is worse than none: take back what this run wrote.
    await Promise.all(written.map((file) => rm(join(folder, file), { force: true })));
    throw new InitError(`cannot write in ${folder} (${(error as Error).message}); runway init took back what it wrote`);
  }
  written.push('package.json');
  return { folder, written, packageJsonMerged };
}
