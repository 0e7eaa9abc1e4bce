/**
 * The DAGs a scheduler or worker runs: each DAG's summary with what the runner derives from it once
 * (graph, schedule), and the DAG object with its task functions. DAG files are validated in
 * isolation first; only those that pass every check are registered. A service registers them
 * lazily (`lazyDag`): the module is imported when something first needs a function of it, so a
 * scheduler imports no DAG to schedule it and a worker imports the DAGs whose tasks it runs.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { checkDag } from '../core/dag-checks.ts';
import { isDag, type Dag, type TaskDefinition } from '../core/dag.ts';
import { durationMs } from '../core/duration.ts';
import { summarizeDag, type DagSummary, type TaskSummary } from '../core/dag-summary.ts';
import { type DagFileResult, type LoadDagsOptions } from './load-dags.ts';
import type { Problem } from '../core/problem.ts';
import type { GraphTask } from '../core/run-advance.ts';
import type { ScheduleSpec } from '../core/data-interval.ts';
import { parseDagDate, parseSchedule } from '../core/schedule.ts';
import { DEFAULT_POLICY, type Policy } from '../core/policy.ts';
import { validate } from './validate.ts';
import { ensureTypeScriptLoader } from './typescript-loader.ts';
import { eachLimit } from '../core/each-limit.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDag = Dag<any, any>;

export interface LoadedDag {
  /** What the scheduler, the UI and the engine's decisions read: no function of the DAG file. */
  readonly summary: DagSummary;
  readonly taskSummaries: ReadonlyMap<string, TaskSummary>;
  readonly graph: readonly GraphTask[];
  readonly schedule: ScheduleSpec;
  readonly dagRunTimeoutMs: number | undefined;
  readonly file: string | undefined;
  /** The DAG object and its tasks, functions included: imported on first use when loaded lazily. */
  readonly dag: AnyDag;
  readonly tasks: ReadonlyMap<string, TaskDefinition>;
  /** Imports the DAG's module if not yet (a lazily loaded DAG); its `dag` and `tasks` then need no import. */
  load?(): Promise<void>;
  /** Whether `dag` and `tasks` are here without an import. */
  readonly imported: boolean;
  /** The same DAG shown as from `file`. */
  withFile(file: string): LoadedDag;
}

/** A DAG that loads but is not run here, and why (standalone without AWS credentials). */
export interface HeldDag {
  loaded: LoadedDag;
  reason: string;
}

/** What a process knows of its DAG files beyond the DAGs it runs: to list every DAG, with its state. */
export interface DagCatalog {
  /** Files that do not run as they are now (import errors, failed checks), with why. */
  problems(): readonly Problem[];
  held(): readonly HeldDag[];
}

export class DagRegistry {
  private readonly byId: Map<string, LoadedDag>;
  /** DAGs taken out of a deployment: not scheduled any more, but their running runs still finish. */
  private readonly retiredIds = new Set<string>();
  private changes = 0;

  constructor(dags: readonly LoadedDag[] = []) {
    this.byId = new Map(dags.map((d) => [d.summary.dagId, d]));
  }

  /** The DAG's current version, retired or not: a task always runs the version loaded last. */
  get(dagId: string): LoadedDag | undefined {
    return this.byId.get(dagId);
  }

  /** The DAG's current version with its module imported (a worker about to run one of its tasks). */
  async imported(dagId: string): Promise<LoadedDag | undefined> {
    const loaded = this.byId.get(dagId);
    await loaded?.load?.();
    return loaded;
  }

  /** How many DAGs this process has imported the module of: a worker imports only those it runs. */
  importedCount(): number {
    return [...this.byId.values()].filter((d) => d.imported).length;
  }

  /** Moves with every `put` and `retire`: a scheduler looks at what changed only when it has moved. */
  get version(): number {
    return this.changes;
  }

  isRetired(dagId: string): boolean {
    return this.retiredIds.has(dagId);
  }

  /** The DAGs to schedule. */
  list(): LoadedDag[] {
    return [...this.byId.values()].filter((d) => !this.retiredIds.has(d.summary.dagId));
  }

  /** Retired DAGs, whose running runs still need reconciling. */
  retired(): LoadedDag[] {
    return [...this.retiredIds].flatMap((id) => this.byId.get(id) ?? []);
  }

  /** Adds or replaces one DAG (hot reload): its next task runs the new version. */
  put(loaded: LoadedDag): void {
    this.byId.set(loaded.summary.dagId, loaded);
    this.retiredIds.delete(loaded.summary.dagId);
    this.changes++;
  }

  /** Stops scheduling a DAG; runs in flight keep the definition they need to finish. */
  retire(dagId: string): void {
    if (this.byId.has(dagId)) this.retiredIds.add(dagId);
    this.changes++;
  }
}

export class DagNotRunnableError extends Error {
  override readonly name = 'DagNotRunnableError';
}

/** Derives what the runner needs from a DAG; throws if the DAG fails a structural check. */
export function prepareDag(dag: AnyDag, file?: string): LoadedDag {
  return new ImportedDag(dag, summarized(summarizeDag(dag), file), file);
}

/**
 * A DAG known by its summary (sent back by the isolated import that validated its file, or kept with
 * its verified bundle), its module imported from `bundlePath` only when something needs a function
 * of it: a task to run, a callback. A scheduler of 2,000 DAGs imports none of them to schedule.
 * Throws if the summary fails a structural check.
 */
export function lazyDag(summary: DagSummary, bundlePath: string, file?: string): LoadedDag {
  return new LazyDag(summarized(summary, file), bundlePath, file);
}

interface Summarized {
  summary: DagSummary;
  taskSummaries: ReadonlyMap<string, TaskSummary>;
  graph: readonly GraphTask[];
  schedule: ScheduleSpec;
  dagRunTimeoutMs: number | undefined;
}

function summarized(summary: DagSummary, file: string | undefined): Summarized {
  const problems = checkDag(summary);
  if (problems.length > 0) {
    const list = problems.map((p) => `${p.taskId ? `task ${p.taskId}: ` : ''}${p.message}`).join('; ');
    throw new DagNotRunnableError(`DAG "${summary.dagId}"${file ? ` (${file})` : ''} cannot run: ${list}`);
  }
  const schedule = parseSchedule(summary.schedule, summary.timezone);
  const start = parseDagDate(summary.startDate, summary.timezone);
  const end = summary.endDate === undefined ? undefined : parseDagDate(summary.endDate, summary.timezone);
  if (!schedule.ok || !start.ok || (end && !end.ok))
    throw new DagNotRunnableError(`DAG "${summary.dagId}": bad schedule`);
  return {
    summary,
    taskSummaries: new Map(summary.tasks.map((t) => [t.id, t])),
    graph: summary.tasks.map((t) => ({
      id: t.id,
      upstream: t.upstream,
      triggerRule: t.triggerRule,
      ...(t.role === undefined ? {} : { role: t.role }),
      ...(t.onFailureFailRun ? { failsRun: true } : {}),
    })),
    schedule: {
      schedule: schedule.value,
      timezone: summary.timezone,
      startDate: start.value,
      endDate: end?.ok ? end.value : undefined,
      catchup: summary.catchup,
    },
    dagRunTimeoutMs: summary.dagRunTimeout ? durationMs(summary.dagRunTimeout) : undefined,
  };
}

/** The fields a DAG's summary gives, checked and derived once: an imported DAG's and a lazy one's alike. */
abstract class SummarizedDag {
  readonly summary: DagSummary;
  readonly taskSummaries: ReadonlyMap<string, TaskSummary>;
  readonly graph: readonly GraphTask[];
  readonly schedule: ScheduleSpec;
  readonly dagRunTimeoutMs: number | undefined;

  constructor(
    protected readonly derived: Summarized,
    readonly file: string | undefined,
  ) {
    this.summary = derived.summary;
    this.taskSummaries = derived.taskSummaries;
    this.graph = derived.graph;
    this.schedule = derived.schedule;
    this.dagRunTimeoutMs = derived.dagRunTimeoutMs;
  }
}

class ImportedDag extends SummarizedDag implements LoadedDag {
  readonly tasks: ReadonlyMap<string, TaskDefinition>;
  readonly imported = true;

  constructor(
    readonly dag: AnyDag,
    derived: Summarized,
    file: string | undefined,
  ) {
    super(derived, file);
    this.tasks = new Map(dag.tasks.map((t) => [t.id, t]));
  }

  withFile(file: string): LoadedDag {
    return new ImportedDag(this.dag, this.derived, file);
  }
}

class LazyDag extends SummarizedDag implements LoadedDag {
  private module: { dag: AnyDag; tasks: ReadonlyMap<string, TaskDefinition> } | undefined;
  private importing: Promise<void> | undefined;

  constructor(
    derived: Summarized,
    private readonly bundlePath: string,
    file: string | undefined,
  ) {
    super(derived, file);
  }

  get imported(): boolean {
    return this.module !== undefined;
  }

  get dag(): AnyDag {
    return (this.module ?? this.importNow()).dag;
  }

  get tasks(): ReadonlyMap<string, TaskDefinition> {
    return (this.module ?? this.importNow()).tasks;
  }

  load(): Promise<void> {
    if (this.module) return Promise.resolve();
    this.importing ??= import(pathToFileURL(this.bundlePath).href).then(
      (module: { default?: unknown }) => void this.accept(module),
      (error: unknown) => {
        this.importing = undefined; // the next task tries again: a failure now need not be one later
        throw error;
      },
    );
    return this.importing;
  }

  /**
   * A synchronous path (code that reads `dag` before anything awaited `load`): Node's `require` of
   * an ES module (20.19+) shares the module cache with `import`. A bundle with top-level await
   * cannot be required; the error says so.
   */
  private importNow() {
    let module: { default?: unknown };
    try {
      module = requireHere(this.bundlePath) as { default?: unknown };
    } catch (error) {
      throw new Error(
        `DAG "${this.summary.dagId}" could not be imported from ${this.bundlePath}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    return this.accept(module);
  }

  private accept(module: { default?: unknown }) {
    if (this.module) return this.module;
    if (!isDag(module.default))
      throw new Error(`DAG "${this.summary.dagId}": its bundle's default export is not a DAG`);
    const dag = module.default as AnyDag;
    if (dag.options.id !== this.summary.dagId)
      throw new Error(`the bundle declares DAG "${dag.options.id}", not "${this.summary.dagId}"`);
    this.module = { dag, tasks: new Map(dag.tasks.map((t) => [t.id, t])) };
    modulesImported++;
    return this.module;
  }

  withFile(file: string): LoadedDag {
    const other = new LazyDag(this.derived, this.bundlePath, file);
    other.module = this.module;
    return other;
  }
}

const requireHere = createRequire(import.meta.url);

let modulesImported = 0;

/**
 * DAG modules this process has imported lazily, versions replaced by a hot reload included: an ES
 * module cannot be unloaded, so this is what a worker's memory grows with (see `--max-dags`).
 */
export function dagModulesImported(): number {
  return modulesImported;
}

export interface LoadRegistryResult {
  registry: DagRegistry;
  /** Files that failed to import or check: they are not run, and say why. */
  problems: Problem[];
  files: DagFileResult[];
}

/**
 * Imports one DAG file into this process, without isolation: only for a file validated in
 * isolation already (as `loadDagRegistry` does first). Throws when it is not a runnable DAG.
 */
export async function importDagFile(absolutePath: string, file: string): Promise<LoadedDag> {
  await ensureTypeScriptLoader(absolutePath);
  const module = (await import(pathToFileURL(absolutePath).href)) as { default?: unknown };
  if (!isDag(module.default)) throw new Error('its default export is not a DAG');
  return prepareDag(module.default as AnyDag, file);
}

/** What keeps a DAG from running: import errors and structural problems; the team's rules are CI's. */
export function structuralPolicy(policy: Policy = DEFAULT_POLICY): Policy {
  const structural: Policy = structuredClone(policy);
  for (const rule of Object.values(structural.rules)) rule.enabled = false;
  structural.rules.imports.enabled = true;
  return structural;
}

/**
 * Validates the DAG files in isolation, then imports the good ones here. Policy rules are not
 * applied (CI enforces them); import errors and structural problems keep a DAG from running.
 */
export async function loadDagRegistry(
  paths: string | readonly string[],
  options: LoadDagsOptions & { policy?: Policy } = {},
): Promise<LoadRegistryResult> {
  const report = await validate(typeof paths === 'string' ? [paths] : paths, {
    ...options,
    policy: structuralPolicy(options.policy),
  });
  const bad = new Set(report.problems.map((p) => p.file));
  const good = report.files.filter((file) => !bad.has(file.file) && file.dag);
  const { loaded, problems } = await importDagFiles(good);
  return { registry: new DagRegistry(loaded), problems: [...report.problems, ...problems], files: report.files };
}

/**
 * Validates the DAG files in isolation, as `loadDagRegistry`, and registers the good ones by the
 * summaries their isolated imports sent back: nothing is imported here until a DAG is used.
 */
export async function loadLazyRegistry(
  paths: readonly string[],
  options: LoadDagsOptions & { policy?: Policy } = {},
): Promise<LoadRegistryResult> {
  const report = await validate(paths, { ...options, policy: structuralPolicy(options.policy) });
  const bad = new Set(report.problems.map((p) => p.file));
  const { loaded, problems } = lazyDags(
    report.files.flatMap((f) =>
      !bad.has(f.file) && f.dag ? [{ summary: f.dag, path: f.absolutePath, file: f.file }] : [],
    ),
  );
  return { registry: new DagRegistry(loaded), problems: [...report.problems, ...problems], files: report.files };
}

/** Lazily loaded DAGs from their summaries; one that fails a structural check is a problem. */
export function lazyDags(files: readonly { summary: DagSummary; path: string; file: string }[]): {
  loaded: LoadedDag[];
  problems: Problem[];
} {
  const loaded: LoadedDag[] = [];
  const problems: Problem[] = [];
  for (const { summary, path, file } of files) {
    try {
      loaded.push(lazyDag(summary, path, file));
    } catch (error) {
      problems.push({ file, dagId: summary.dagId, rule: 'import-error', message: (error as Error).message });
    }
  }
  return { loaded, problems };
}

/** Imports at once: an import waits on the module loader's thread, and 2,000 one after another add up. */
const IMPORTS_AT_ONCE = 16;

/** Imports validated files here, several at a time; the DAGs come back in the files' order. */
export async function importDagFiles(
  files: readonly { absolutePath: string; file: string }[],
): Promise<{ loaded: LoadedDag[]; problems: Problem[] }> {
  const outcomes: (LoadedDag | Problem)[] = [];
  const indexed = files.map((file, i) => ({ ...file, i }));
  await eachLimit(indexed, IMPORTS_AT_ONCE, async ({ absolutePath, file, i }) => {
    outcomes[i] = await importDagFile(absolutePath, file).catch((error: Error): Problem => ({
      file,
      rule: 'import-error',
      message: error.message,
    }));
  });
  return {
    loaded: outcomes.filter((o): o is LoadedDag => 'dag' in o),
    problems: outcomes.filter((o): o is Problem => !('dag' in o)),
  };
}
