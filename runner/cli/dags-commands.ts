/** `runway dags list | list-import-errors | report | show`: what the DAG folder holds, read in isolation. */
import type { DagSummary } from '../core/dag-summary.ts';
import { renderGraphMermaid, renderGraphText } from '../core/graph-render.ts';
import { loadDags, type DagFileResult, type LoadDagsOptions } from '../loader/load-dags.ts';
import { UsageError } from './io.ts';

export type DagsOptions = LoadDagsOptions & { folder: string };

export async function listDags(options: DagsOptions): Promise<{ file: string; dag: DagSummary }[]> {
  const files = await loadDags([options.folder], options);
  return files.filter((f) => f.dag).map((f) => ({ file: f.file, dag: f.dag! }));
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
