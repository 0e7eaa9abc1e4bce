/** `runway dags list | list-import-errors | report | show`: what the DAG folder holds, read in isolation. */
import type { DagSummary } from '../core/dag-summary.ts';
import { renderGraphMermaid, renderGraphText } from '../core/graph-render.ts';
import { loadDags, type DagFileResult, type LoadDagsOptions } from '../loader/load-dags.ts';
import { UsageError } from './io.ts';
import { relative, resolve } from 'node:path';

export type DagsOptions = LoadDagsOptions & { folder: string };

/** The options that decide whether a file imports at all: the cache's verdicts are the defaults'. */
const IMPORT_LIMITS = [
  'importTimeoutMs',
  'memoryLimitMb',
  'outputLimitBytes',
  'summaryLimitBytes',
  'settleMs',
] as const;

/**
 * The folder's DAGs. Files verified before (by a service or an earlier listing), unchanged with their
 * helpers, are listed from the summaries kept then, without an import: at 2,000 DAGs, a second
 * instead of importing each in isolation. The others are validated in isolation as a service would,
 * and their good verdicts kept for next time.
 */
export async function listDags(
  options: DagsOptions & { cacheDir?: string },
): Promise<{ file: string; dag: DagSummary }[]> {
  const cwd = options.cwd ?? process.cwd();
  const [{ verifiedSummaries }, { keepVerdicts }, { validate }, { structuralPolicy }] = await Promise.all([
    import('../deploy/verified-bundles.ts'),
    import('../deploy/keep-verdicts.ts'),
    import('../loader/validate.ts'),
    import('../loader/dag-registry.ts'),
  ]);
  const { verified, unverified, scan, cache } = await verifiedSummaries(options.folder, {
    cwd,
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
  });
  // The whole folder (or file) when nothing is verified: its skipped links are reported as found.
  const paths = verified.size === 0 ? [options.folder] : unverified;
  const report = paths.length === 0 ? undefined : await validate(paths, { ...options, policy: structuralPolicy() });
  // A verdict reached with wider import limits than a service's own is not one a service may trust.
  const defaultLimits = IMPORT_LIMITS.every((limit) => options[limit] === undefined);
  if (report && defaultLimits) await keepVerdicts(report, scan, resolve(cwd, options.folder), cache);
  return [
    ...[...verified].map(([path, dag]) => ({ path, file: relative(cwd, path) || path, dag })),
    ...(report?.files ?? []).flatMap((f) => (f.dag ? [{ path: f.absolutePath, file: f.file, dag: f.dag }] : [])),
  ]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map(({ file, dag }) => ({ file, dag }));
}

export async function listImportErrors(options: DagsOptions): Promise<DagFileResult[]> {
  return (await loadDags([options.folder], options)).filter((f) => f.error);
}

export interface ImportTimeRow {
  file: string;
  importMs: number;
  dagId: string | undefined;
  tasks: number;
  error: string | undefined;
}

/** Per-file import time, slowest first, like `airflow dags report`. */
export async function reportImportTimes(options: DagsOptions): Promise<ImportTimeRow[]> {
  const files = await loadDags([options.folder], options);
  return files
    .map((f) => ({
      file: f.file,
      importMs: f.importMs,
      dagId: f.dag?.dagId,
      tasks: f.dag?.tasks.length ?? 0,
      error: f.error?.message,
    }))
    .sort((a, b) => b.importMs - a.importMs);
}

export async function showDag(dagId: string, options: DagsOptions): Promise<{ text: string; mermaid: string }> {
  const found = (await listDags(options)).find((entry) => entry.dag.dagId === dagId);
  if (!found) throw new UsageError(`no DAG "${dagId}" in ${options.folder} (see \`runway dags list\`)`);
  return { text: renderGraphText(found.dag), mermaid: renderGraphMermaid(found.dag) };
}
