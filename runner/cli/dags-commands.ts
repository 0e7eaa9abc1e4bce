/** `runway dags list | list-import-errors | report | show`: what the DAG folder holds, read in isolation. */
import type { DagSummary } from '../core/dag-summary.ts';
import { renderGraphMermaid, renderGraphText } from '../core/graph-render.ts';
import { loadDags, type DagFileResult, type LoadDagsOptions } from '../loader/load-dags.ts';
import { UsageError } from './io.ts';
import { relative } from 'node:path';

export type DagsOptions = LoadDagsOptions & { folder: string };

/**
 * The folder's DAGs. Files a service verified before, unchanged with their helpers, are listed from
 * the summaries it kept (no import: at 2,000 DAGs, a second instead of importing each in
 * isolation); the others are imported in isolation.
 */
export async function listDags(
  options: DagsOptions & { cacheDir?: string },
): Promise<{ file: string; dag: DagSummary }[]> {
  const cwd = options.cwd ?? process.cwd();
  const { verifiedSummaries } = await import('../deploy/verified-bundles.ts');
  const { verified, unverified } = await verifiedSummaries(options.folder, {
    cwd,
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
  });
  if (verified.size === 0) {
    const files = await loadDags([options.folder], options);
    return files.filter((f) => f.dag).map((f) => ({ file: f.file, dag: f.dag! }));
  }
  const imported = unverified.length === 0 ? [] : await loadDags(unverified, options);
  return [
    ...[...verified].map(([path, dag]) => ({ path, file: relative(cwd, path) || path, dag })),
    ...imported.flatMap((f) => (f.dag ? [{ path: f.absolutePath, file: f.file, dag: f.dag }] : [])),
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
