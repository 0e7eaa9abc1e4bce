/**
 * The hot-reload step every DAG source shares once its bundles are on disk, named by their SHA-256:
 * an S3 deployment (fetched bundles) and a watched local folder (bundles built from the changed
 * files). New and changed bundles are validated in isolation and imported, then put in the registry
 * (their next task runs the new version); DAGs no longer listed are retired. Whatever fails to load
 * leaves the version already running in place, and is reported.
 */
import { relative } from 'node:path';
import {
  DagRegistry,
  lazyDags,
  loadLazyRegistry,
  type HeldDag,
  type LoadedDag,
  type LoadRegistryResult,
} from '../loader/dag-registry.ts';
import type { LoadDagsOptions } from '../loader/load-dags.ts';
import type { Logger } from '../core/operator.ts';
import type { Problem } from '../core/problem.ts';
import type { ManifestEntry } from './manifest.ts';
import type { DagSummary } from '../core/dag-summary.ts';

export interface RefreshResult {
  /** False when nothing had changed since the last refresh. */
  changed: boolean;
  added: string[];
  updated: string[];
  removed: string[];
  problems: Problem[];
}

export const emptyRefresh = (): RefreshResult => ({
  changed: false,
  added: [],
  updated: [],
  removed: [],
  problems: [],
});

/** A bundle ready on disk, and the entry that names it. */
export interface ReadyBundle {
  entry: ManifestEntry;
  path: string;
  /** What the isolated import of its source sent back, when its source was validated. */
  summary?: DagSummary;
}

export interface DagBundleLoaderOptions extends LoadDagsOptions {
  /** Where the bundles are: they are validated with paths relative to it. */
  cacheDir: string;
  /** How a loaded DAG's file is shown. @defaultValue the entry's source */
  label?: (entry: ManifestEntry) => string;
  /** The rule problems are reported under. @defaultValue 'deploy' */
  rule?: string;
  /** A reason to keep a DAG out of the registry though it loads; undefined runs it. */
  hold?: (loaded: LoadedDag) => string | undefined;
  /**
   * The bundles' sources were validated in isolation just before (a local folder; each ready
   * bundle carries its summary): register them without a second isolated import, which would
   * double a reload's time. @defaultValue false
   */
  sourcesValidated?: boolean;
}

export class DagBundleLoader {
  /** dagId -> SHA-256 of the bundle loaded now (running or held). */
  private readonly loadedSha = new Map<string, string>();
  private readonly heldById = new Map<string, HeldDag>();

  constructor(
    private readonly registry: DagRegistry,
    private readonly options: DagBundleLoaderOptions,
  ) {}

  /** The SHA-256 of the DAG's bundle loaded now; a failure to load its next one keeps that one. */
  version(dagId: string): string | undefined {
    return this.loadedSha.get(dagId);
  }

  /** The entries whose bundle differs from the one loaded. */
  changed(entries: readonly ManifestEntry[]): ManifestEntry[] {
    return entries.filter((e) => this.loadedSha.get(e.dagId) !== e.sha256);
  }

  held(): HeldDag[] {
    return [...this.heldById.values()];
  }

  /**
   * Validates the bundles in isolation (unless their sources were) and puts the good ones in the
   * registry, lazily: a DAG's module is imported in this process when first needed.
   */
  async load(ready: readonly ReadyBundle[], result: RefreshResult): Promise<void> {
    if (ready.length === 0) return;
    const { cacheDir, label: _label, rule: _rule, hold: _hold, sourcesValidated, ...loadOptions } = this.options;
    const loaded = sourcesValidated
      ? registerValidated(ready, cacheDir)
      : await loadLazyRegistry(
          ready.map((r) => r.path),
          { ...loadOptions, cwd: cacheDir },
        );
    const byFile = new Map(ready.map((r) => [relative(cacheDir, r.path), r.entry]));
    for (const problem of loaded.problems) {
      const entry = byFile.get(problem.file);
      result.problems.push(entry ? this.problem(entry, `${problem.message}${this.keeps(entry.dagId)}`) : problem);
    }
    for (const dag of loaded.registry.list()) {
      const entry = byFile.get(dag.file ?? '');
      if (!entry) continue;
      if (dag.summary.dagId !== entry.dagId) {
        result.problems.push(
          this.problem(entry, `the bundle declares DAG "${dag.summary.dagId}", not "${entry.dagId}"`),
        );
        continue;
      }
      (this.loadedSha.has(entry.dagId) ? result.updated : result.added).push(entry.dagId);
      const labelled = dag.withFile(this.options.label?.(entry) ?? entry.source);
      this.loadedSha.set(entry.dagId, entry.sha256);
      const reason = this.options.hold?.(labelled);
      if (reason === undefined) {
        this.heldById.delete(entry.dagId);
        this.registry.put(labelled);
      } else {
        this.registry.retire(entry.dagId);
        this.heldById.set(entry.dagId, { loaded: labelled, reason });
      }
    }
  }

  /** Retires the DAGs loaded here that `listed` no longer names: their running runs still finish. */
  retireUnlisted(listed: ReadonlySet<string>, result: RefreshResult): void {
    for (const dagId of [...this.loadedSha.keys()]) {
      if (listed.has(dagId)) continue;
      this.registry.retire(dagId);
      this.loadedSha.delete(dagId);
      this.heldById.delete(dagId);
      result.removed.push(dagId);
    }
  }

  /** "; the previous version keeps running", when there is one. */
  keeps(dagId: string): string {
    return this.loadedSha.has(dagId) ? '; the previous version keeps running' : '';
  }

  problem(entry: ManifestEntry, message: string): Problem {
    return { file: entry.source, dagId: entry.dagId, rule: this.options.rule ?? 'deploy', message };
  }
}

/** Registers bundles whose sources passed validation in isolation, by their summaries. */
function registerValidated(
  ready: readonly ReadyBundle[],
  cacheDir: string,
): Pick<LoadRegistryResult, 'registry' | 'problems'> {
  const { loaded, problems } = lazyDags(
    ready.map(({ path, summary }) => {
      if (!summary) throw new Error(`${path}: a bundle said to be validated comes without its summary`);
      return { summary, path, file: relative(cacheDir, path) };
    }),
  );
  return { registry: new DagRegistry(loaded), problems };
}

export function logRefresh(log: Logger, uri: string, result: RefreshResult): void {
  for (const p of result.problems) {
    log.error(`${p.file}${p.line ? `:${p.line}` : ''}${p.dagId ? ` (DAG ${p.dagId})` : ''}: ${p.message}`);
  }
  if (!result.changed) return;
  const parts = [
    result.added.length > 0 ? `added ${result.added.join(', ')}` : '',
    result.updated.length > 0 ? `updated ${result.updated.join(', ')} (from their next task)` : '',
    result.removed.length > 0 ? `removed ${result.removed.join(', ')} (running runs finish, no new ones)` : '',
  ].filter(Boolean);
  log.info(`DAGs from ${uri}: ${parts.length > 0 ? parts.join('; ') : 'no change'}`);
}
