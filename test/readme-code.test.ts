/**
 * Every ```ts block of the README compiles: a reader copies them, so a renamed option or a wrong
 * type there is a bug. The blocks are written to files inside the repository (so `runway` and
 * `runway/operators` resolve as they do for a DAG) and type-checked with the project's settings.
 *
 * Snippets that show one task start with `.task(`: they are checked as the tail of a DAG that
 * declares the upstream tasks they name. Names a snippet uses without importing (`dag`, an
 * operator, `z`) are imported for it.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as operators from '../operators/index.ts';
import type { TaskContext, TaskSpec } from 'runway';
import { REPO_ROOT } from './helpers/run-cli.ts';

const RUNWAY_NAMES = ['dag', 'skip', 'failNow', 'TaskError'];
const OPERATOR_NAMES = Object.keys(operators).filter(
  (name) => typeof (operators as Record<string, unknown>)[name] === 'function',
);

export function typeScriptBlocks(markdown: string): { line: number; code: string }[] {
  const blocks: { line: number; code: string }[] = [];
  for (const match of markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
    blocks.push({ line: markdown.slice(0, match.index).split('\n').length, code: match[1]! });
  }
  return blocks;
}

/** The block as a module: missing imports added, a `.task(` snippet placed after a DAG that has its upstream tasks. */
export function asModule(code: string): string {
  const lines = code.split('\n');
  const imports = lines.filter((line) => /^import\b/.test(line));
  const body = lines.filter((line) => !/^import\b/.test(line)).join('\n');
  const imported = new Set(
    imports.flatMap(
      (line) =>
        /\{([^}]*)\}/
          .exec(line)?.[1]
          ?.split(',')
          .map((n) => n.trim()) ?? [],
    ),
  );
  const used = (name: string) => !imported.has(name) && new RegExp(`\\b${name}\\b`).test(body);
  const prelude = [
    `import { ${['dag', ...RUNWAY_NAMES.filter(used)].filter((n, i, all) => !imported.has(n) && all.indexOf(n) === i).join(', ')} } from 'runway';`,
    ...(OPERATOR_NAMES.some(used)
      ? [`import { ${OPERATOR_NAMES.filter(used).join(', ')} } from 'runway/operators';`]
      : []),
    ...(used('z') ? ["import { z } from 'zod';"] : []),
  ].filter((line) => !line.startsWith('import {  }'));
  if (!body.trimStart().startsWith('.task(')) return [...prelude, ...imports, body].join('\n');
  const upstream = [...body.matchAll(/upstream:\s*\[([^\]]*)\]/g)].flatMap((m) => m[1]!.match(/[\w.-]+/g) ?? []);
  const stubs = [...new Set(upstream)].map((id) => `.task('${id}', {}, async () => null)`).join('\n');
  const base = `{ id: 'data_lake__readme', description: 'A README snippet.', owner: 'data-platform', tags: ['data-lake'], schedule: null, timezone: 'UTC', startDate: '2026-01-01' }`;
  return [...prelude, ...imports, `export default dag(${base})`, stubs, body.trimEnd().replace(/;?$/, ';')].join('\n');
}

describe('the README', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('has TypeScript blocks that all type-check', async () => {
    const blocks = typeScriptBlocks(await readFile(join(REPO_ROOT, 'README.md'), 'utf8'));
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    // Under .runway/ (ignored by git, lint and format), inside the repository so `runway` resolves.
    await mkdir(join(REPO_ROOT, '.runway'), { recursive: true });
    dir = await mkdtemp(join(REPO_ROOT, '.runway', 'readme-blocks-'));
    for (const [i, block] of blocks.entries()) {
      await writeFile(join(dir, `readme-line-${block.line}-block-${i}.ts`), asModule(block.code));
    }
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ extends: '../../tsconfig.json', include: ['*.ts'], exclude: [] }),
    );
    const tsc = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    // Each error names its block's README line: readme-line-72-block-0.ts(12,5): error TS…
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  }, 120_000);

  it('extracts blocks, and wraps a .task( snippet in a DAG with its upstream tasks', () => {
    const markdown =
      "x\n```ts\nconst a = 1;\n```\n```sh\nls\n```\n```ts\n.task('b', { upstream: ['a'] }, s3Sync({}))\n```\n";
    const blocks = typeScriptBlocks(markdown);
    expect(blocks.map((b) => b.line)).toEqual([2, 8]);
    const module = asModule(blocks[1]!.code);
    expect(module).toContain("import { s3Sync } from 'runway/operators';");
    expect(module).toContain(".task('a', {}, async () => null)\n.task('b', { upstream: ['a'] }, s3Sync({}));");
  });

  const readme = () => readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = (heading: string) => {
    const text = readme();
    const start = text.indexOf(`\n${heading}\n`);
    expect(start, heading).toBeGreaterThan(-1);
    const end = text.indexOf('\n## ', start + heading.length + 2);
    return text.slice(start, end === -1 ? undefined : end);
  };

  it('heads its authoring example with a new file and a new DAG id, so saving it adds a DAG', () => {
    const example = typeScriptBlocks(section('## Authoring a DAG'))[0]!.code;
    const path = /^\/\/ (dags\/\S+\.ts)$/m.exec(example)?.[1];
    const id = /\bid: '([^']+)'/.exec(example)?.[1];
    expect(path).toBe(`dags/${id}.ts`);
    expect(existsSync(join(REPO_ROOT, path!))).toBe(false);
    for (const file of readdirSync(join(REPO_ROOT, 'dags')).filter((f) => f.endsWith('.ts'))) {
      expect(readFileSync(join(REPO_ROOT, 'dags', file), 'utf8')).not.toContain(`'${id}'`);
    }
    expect(example).toContain("import { z } from 'zod';");
  });

  it('documents every field of the task context and every task option', () => {
    // Records over the types' keys: a field added to TaskContext or TaskSpec does not compile here until listed.
    const contextFields: Record<keyof TaskContext, true> = {
      dagId: true,
      taskId: true,
      runId: true,
      tryNumber: true,
      logicalDate: true,
      dataIntervalStart: true,
      dataIntervalEnd: true,
      ds: true,
      dsNodash: true,
      params: true,
      upstream: true,
      log: true,
      signal: true,
      aws: true,
      env: true,
      assets: true,
    };
    const taskOptions: Record<keyof TaskSpec, true> = {
      retries: true,
      retryDelay: true,
      retryBackoff: true,
      maxRetryDelay: true,
      executionTimeout: true,
      pool: true,
      priority: true,
      upstream: true,
      triggerRule: true,
      notifications: true,
      doc: true,
      branch: true,
      shortCircuit: true,
      queue: true,
      onSuccess: true,
      onFailure: true,
      onRetry: true,
      outlets: true,
    };
    const authoring = section('## Authoring a DAG');
    const table = authoring.slice(authoring.indexOf('| field'), authoring.indexOf('A task says how'));
    for (const field of Object.keys(contextFields)) expect(table, field).toContain(`\`${field}\``);
    const options = section('### DAG options');
    for (const option of Object.keys(taskOptions)) expect(options, option).toContain(`\`${option}\``);
  });

  it('has no broken inline code: no escaped backtick inside one, no code glued to a word', () => {
    const prose = readme().replace(/^\s*```[\s\S]*?^\s*```$/gm, '');
    expect(prose).not.toMatch(/\\`/);
    const broken: string[] = [];
    for (const paragraph of prose.split(/\n\s*\n/)) {
      // Double-backtick spans may hold single backticks: out of the way first.
      const text = paragraph.replace(/``[\s\S]*?``/g, '').replace(/\n/g, ' ');
      if ((text.match(/`/g) ?? []).length % 2 === 1) broken.push(`unpaired backtick: ${text.slice(0, 120)}`);
      for (const span of text.matchAll(/`[^`]+`/g)) {
        if (/[A-Za-z]/.test(text[span.index + span[0].length] ?? '')) broken.push(`glued: ${span[0]}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('says that npm test leaves out the reliability suite', () => {
    const line = readme()
      .split('\n')
      .find((l) => l.startsWith('npm ci && npm test'))!;
    expect(line).not.toContain('every test');
    expect(section('## The two commands')).toContain('`npm run test:reliability`');
  });
});
