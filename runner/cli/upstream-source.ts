/**
 * Where `runway tasks test` takes a task's upstream outputs from: a JSON file (`--upstream`), a named
 * run (`--from-run`), or the DAG's latest successful run. Each upstream task is reproduced with the
 * state it ended in there, so a task whose trigger rule runs after a failure sees what it would see.
 */
import { readFile } from 'node:fs/promises';
import type { TaskInstanceRecord } from '../core/model.ts';
import type { RunStore } from '../state/run-store.ts';
import { OperationError } from '../state/operations.ts';

/** How an upstream task ended in the source, and what it handed on (`null` unless it succeeded). */
export interface UpstreamResult {
  state: 'success' | 'failed' | 'skipped';
  output: unknown;
}

export interface UpstreamData {
  /** Said to the user: "upstream outputs from …". */
  source: string;
  results: Record<string, UpstreamResult>;
}

/** How many of a DAG's newest runs are searched for a successful one. */
const RUNS_SEARCHED = 50;

/**
 * `--upstream file.json`: an object with one field per upstream task, holding that task's output
 * (`null` for a task that returned nothing). Every field is checked against the task's upstream.
 */
export async function readUpstreamFile(
  file: string,
  taskId: string,
  upstream: readonly string[],
): Promise<UpstreamData> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new OperationError(`--upstream ${file}: cannot be read (${(error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new OperationError(`--upstream ${file}: not valid JSON (${(error as Error).message})`);
  }
  const shape = `an object with one field per upstream task of "${taskId}" (${upstream.join(', ') || 'none'}) holding its output`;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new OperationError(`--upstream ${file}: must be ${shape}`);
  }
  const given = parsed as Record<string, unknown>;
  const unknown = Object.keys(given).filter((key) => !upstream.includes(key));
  if (unknown.length > 0) {
    throw new OperationError(
      `--upstream ${file}: field "${unknown[0]}" is not an upstream task of "${taskId}"; its upstream: ${upstream.join(', ') || 'none'}`,
    );
  }
  const missing = upstream.filter((id) => !(id in given));
  if (missing.length > 0) {
    throw new OperationError(
      `--upstream ${file}: field "${missing[0]}" is missing: give the output of upstream task "${missing[0]}" (null if it returns nothing)`,
    );
  }
  const results = Object.fromEntries(upstream.map((id) => [id, { state: 'success' as const, output: given[id] }]));
  return { source: file, results };
}

/** `--from-run <runId>`: what each upstream task ended with in that run. */
export async function readUpstreamOfRun(
  store: RunStore,
  dagId: string,
  runId: string,
  upstream: readonly string[],
  where: string,
): Promise<UpstreamData> {
  if (!(await store.getRun(dagId, runId))) {
    throw new OperationError(`--from-run: DAG "${dagId}" has no run "${runId}" in ${where} (see \`runway runs list\`)`);
  }
  const snapshot = await store.snapshot(dagId, runId);
  const outputs = await store.outputs(dagId, runId, upstream);
  const results: Record<string, UpstreamResult> = {};
  for (const id of upstream) {
    const state = endedAs(snapshot[id]);
    if (!state) {
      throw new OperationError(
        `--from-run: upstream task "${id}" is ${snapshot[id]?.state ?? 'absent'} in run "${runId}", so it has no output yet`,
      );
    }
    results[id] = { state, output: state === 'success' ? outputs[id] : null };
  }
  return { source: `run ${runId}`, results };
}

/** The newest successful run of the DAG among its latest runs, if any. */
export async function latestSuccessfulRun(store: RunStore, dagId: string): Promise<string | undefined> {
  return (await store.listRuns(dagId, RUNS_SEARCHED)).find((run) => run.state === 'success')?.runId;
}

function endedAs(ti: TaskInstanceRecord | undefined): UpstreamResult['state'] | undefined {
  if (ti?.state === 'success' || ti?.state === 'skipped') return ti.state;
  if (ti?.state === 'failed' || ti?.state === 'upstream_failed') return 'failed';
  return undefined;
}
