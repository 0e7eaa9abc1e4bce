/**
 * `validate()`: imports every DAG file in isolation, then runs the structural checks and the team
 * policy over each DAG. The CLI, the git hooks and CI all call this one function.
 */
import { readFile } from 'node:fs/promises';
import { checkDag } from '../core/dag-checks.ts';
import { locateProblem } from './error-location.ts';
import type { SkippedLink } from './find-dag-files.ts';
import { loadDags, type DagFileResult, type LoadDagsOptions } from './load-dags.ts';
import { checkPolicy, type Policy } from '../core/policy.ts';
import type { DagProblem, Problem } from '../core/problem.ts';
import { assetCycles, unproducedAssets } from '../core/asset-lineage.ts';

export interface ValidateOptions extends LoadDagsOptions {
  policy: Policy;
}

export interface ValidateReport {
  files: DagFileResult[];
  problems: Problem[];
  /** Symbolic links in the folders that were not followed (out of the folder, a loop, a second name). */
  skippedLinks: SkippedLink[];
  /** What is worth a look but does not stop a DAG (a consumer of an asset nothing updates). */
  warnings: Problem[];
}

export async function validate(paths: readonly string[], options: ValidateOptions): Promise<ValidateReport> {
  const skippedLinks: SkippedLink[] = [];
  const files = await loadDags(paths, {
    ...options,
    onSkippedLink: (link) => {
      skippedLinks.push(link);
      options.onSkippedLink?.(link);
    },
  });
  const problems: Problem[] = [];
  for (const result of files) {
    if (result.error) {
      if (options.policy.rules.imports.enabled) problems.push(importProblem(result));
      continue;
    }
    const dag = result.dag!;
    const found: DagProblem[] = [...checkDag(dag), ...checkPolicy(dag, options.policy)];
    if (found.length === 0) continue;
    const source = await readFile(result.absolutePath, 'utf8').catch(() => '');
    for (const problem of found) problems.push({ file: result.file, line: locateProblem(source, problem), ...problem });
  }
  problems.push(...duplicateDagIds(files));
  // Across files: a cycle of DAGs through assets is an error, a consumer without producer a warning.
  const loaded = files.filter((f) => f.dag);
  const fileOf = (dagId: string | undefined) => loaded.find((f) => f.dag!.dagId === dagId)?.file ?? '(unknown file)';
  const summaries = loaded.map((f) => f.dag!);
  problems.push(...assetCycles(summaries).map((p) => ({ file: fileOf(p.dagId), ...p })));
  const warnings = unproducedAssets(summaries).map((p) => ({ file: fileOf(p.dagId), ...p }));
  return { files, problems, skippedLinks, warnings };
}

function importProblem(result: DagFileResult): Problem {
  const { message, line } = result.error!;
  return { file: result.file, ...(line === undefined ? {} : { line }), rule: 'import-error', message };
}

/** Two files declaring one DAG id would fight over its runs: name both files. */
function duplicateDagIds(files: readonly DagFileResult[]): Problem[] {
  const byId = new Map<string, DagFileResult[]>();
  for (const result of files) {
    if (!result.dag) continue;
    byId.set(result.dag.dagId, [...(byId.get(result.dag.dagId) ?? []), result]);
  }
  const problems: Problem[] = [];
  for (const [dagId, owners] of byId) {
    if (owners.length < 2) continue;
    for (const owner of owners) {
      const others = owners.filter((o) => o !== owner).map((o) => o.file);
      problems.push({
        file: owner.file,
        dagId,
        rule: 'duplicate-dag-id',
        message: `DAG id "${dagId}" is also declared in ${others.join(', ')}`,
      });
    }
  }
  return problems;
}
