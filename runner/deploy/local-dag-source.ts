/**
 * A local DAG folder, live: services on `--dags <folder>` notice added, changed and removed files
 * without a restart, as they do for an S3 deployment. A watcher (debounced) triggers a rescan; each
 * changed file is validated in isolation as at start, built into a content-addressed bundle like a
 * deployment's, and handed to the same reload step (`dag-bundle-loader.ts`). A bundle carries the
 * DAG's helpers inline, so a change under `dags/_lib/` reaches the running process too (an import
 * of the file itself would be served from Node's module cache). A broken file keeps its last good
 * version running, and says so.
 */
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import {
  structuralPolicy,
  type DagCatalog,
  type DagRegistry,
  type HeldDag,
  type LoadedDag,
} from '../loader/dag-registry.ts';
import type { LoadDagsOptions } from '../loader/load-dags.ts';
import { validate } from '../loader/validate.ts';
import type { Logger } from '../core/operator.ts';
import type { Problem } from '../core/problem.ts';
import type { DagSummary } from '../core/dag-summary.ts';
import { bundleDags } from './bundle.ts';
import {
  DagBundleLoader,
  emptyRefresh,
  logRefresh,
  type ReadyBundle,
  type RefreshResult,
} from './dag-bundle-loader.ts';
import type { ManifestEntry } from './manifest.ts';
import { DEFAULT_CACHE_DIR, VerifiedBundles, type VerifiedEntry } from './verified-bundles.ts';
import { FolderScanner } from './folder-scan.ts';
import { isAlive } from '../loader/process-sweep.ts';
import { eachLimit } from '../core/each-limit.ts';

export interface LocalDagSourceOptions extends LoadDagsOptions {
  log: Logger;
  /** Bundles go in a folder of this process under it, removed on stop. @defaultValue .runway/dag-bundles in Runway's package */
  cacheDir?: string;
  /** Quiet time after the last file event before a rescan: an editor's save is several events. @defaultValue 200 */
  debounceMs?: number;
  /** Seconds between rescans where the folder cannot be watched. @defaultValue 2 */
  pollEverySeconds?: number;
  /** A reason to keep a DAG out of the registry though it loads (see DagBundleLoader). */
  hold?: (loaded: LoadedDag) => string | undefined;
  /** Starts watching `root`, calling `onChange` on any event. @defaultValue fs.watch, recursive */
  watchFolder?: (root: string, onChange: () => void) => FSWatcher;
}

const watchRecursively = (root: string, onChange: () => void): FSWatcher => watch(root, { recursive: true }, onChange);

interface FileState {
  /** SHA-256 of the file's content when last validated. */
  hash: string;
  /** The version loaded (the last good one), if any. */
  entry?: ManifestEntry;
  /** Why the file's latest content is not what runs. */
  problems: Problem[];
  /** Other DAG files of the folder its bundle was built from (a DAG file may import another). */
  dagImports?: string[];
}

export class LocalDagSource implements DagCatalog {
  private readonly files = new Map<string, FileState>();
  private helpersHash = '';
  private readonly loader: DagBundleLoader;
  private readonly cwd: string;
  private readonly root: string;
  private readonly bundleDir: string;
  private readonly verified: VerifiedBundles;
  private readonly scanner: FolderScanner;
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private pending: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly listeners: (() => void)[] = [];

  constructor(
    readonly folder: string,
    registry: DagRegistry,
    private readonly options: LocalDagSourceOptions,
  ) {
    this.cwd = options.cwd ?? process.cwd();
    this.root = resolve(this.cwd, folder);
    this.bundleDir = join(options.cacheDir ?? DEFAULT_CACHE_DIR, `local-${process.pid}`);
    this.verified = new VerifiedBundles(join(options.cacheDir ?? DEFAULT_CACHE_DIR, 'verified'));
    this.scanner = new FolderScanner(this.root, this.cwd);
    this.loader = new DagBundleLoader(registry, {
      ...this.loadOptions(),
      cacheDir: this.bundleDir,
      rule: 'import-error',
      sourcesValidated: true,
      ...(options.hold ? { hold: options.hold } : {}),
    });
  }

  private loadOptions(): LoadDagsOptions {
    const {
      log: _l,
      cacheDir: _c,
      debounceMs: _d,
      pollEverySeconds: _p,
      hold: _h,
      watchFolder: _w,
      ...rest
    } = this.options;
    return rest;
  }

  /** Why files of the folder do not run as they are now: import errors, broken checks, duplicates. */
  problems(): Problem[] {
    return [...this.files.values()].flatMap((f) => f.problems);
  }

  /** DAGs that load but are held back, with the reason. */
  held(): HeldDag[] {
    return this.loader.held();
  }

  /** Calls `listener` after each reload that changed something. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Rescans the folder and reloads what changed since the last refresh. */
  async refresh(): Promise<RefreshResult> {
    if (this.files.size === 0) {
      await removeDeadProcessBundles(dirname(this.bundleDir));
      // Housekeeping, not waited for: it looks at every entry kept (thousands), and an entry it
      // removes meanwhile is one unused for a week, validated again if this folder needs it.
      void this.verified.prune().catch(() => undefined);
    }
    const result = emptyRefresh();
    const scan = await this.scanner.scan();
    const helpersChanged = scan.helpers !== this.helpersHash;
    const removed = [...this.files.keys()].filter((path) => !scan.dags.has(path));
    const touched = new Set([
      ...removed,
      ...[...scan.dags].filter(([path, hash]) => this.files.get(path)?.hash !== hash).map(([path]) => path),
    ]);
    // A DAG file whose bundle inlines a changed DAG file is rebuilt with it, as with a changed helper.
    const edited = [...scan.dags].filter(
      ([path]) => helpersChanged || touched.has(path) || this.files.get(path)?.dagImports?.some((f) => touched.has(f)),
    );
    if (edited.length === 0 && removed.length === 0 && !helpersChanged) return result;
    // A file refused for a duplicate DAG id is looked at again: the other file may be gone or changed.
    const duplicates = [...scan.dags].filter(
      ([path]) =>
        !edited.some(([p]) => p === path) && this.files.get(path)?.problems.some((p) => p.rule === 'duplicate-dag-id'),
    );
    const changed = [...edited, ...duplicates];
    result.changed = true;
    this.helpersHash = scan.helpers;
    for (const path of removed) this.files.delete(path);

    const ready: { path: string; bundle: ReadyBundle; previous: ManifestEntry | undefined }[] = [];
    if (changed.length > 0) {
      await mkdir(this.bundleDir, { recursive: true });
      // Files validated before, unchanged with their helpers, are not imported in isolation again.
      const verified = new Map<string, VerifiedEntry>();
      const keys = new Map<string, string>();
      await eachLimit(changed, 16, async ([path, hash]) => {
        const key = await this.verified.key(hash, scan.helpers);
        keys.set(path, key);
        const entry = await this.verified.take(key, this.bundleDir, scan.dags);
        if (entry) verified.set(path, entry);
      });
      const unverified = changed.filter(([path]) => !verified.has(path)).map(([path]) => path);
      const report =
        unverified.length === 0
          ? { files: [], problems: [] }
          : await validate(unverified, { ...this.loadOptions(), cwd: this.cwd, policy: structuralPolicy() });
      const files = [
        ...report.files.map((f) => ({
          absolutePath: f.absolutePath,
          file: f.file,
          dagId: f.dag?.dagId,
          summary: f.dag,
        })),
        ...[...verified].map(([absolutePath, entry]) => ({
          absolutePath,
          file: relative(this.cwd, absolutePath) || absolutePath,
          dagId: entry.dagId,
          summary: entry.summary,
        })),
      ].sort((a, b) => (a.absolutePath < b.absolutePath ? -1 : a.absolutePath > b.absolutePath ? 1 : 0));
      for (const file of files) {
        const previous = this.files.get(file.absolutePath)?.entry;
        const state: FileState = {
          hash: scan.dags.get(file.absolutePath)!,
          ...(previous ? { entry: previous } : {}),
          // Duplicates are judged below against what runs: the file that has the id keeps it.
          problems: report.problems.filter((p) => p.file === file.file && p.rule !== 'duplicate-dag-id'),
        };
        this.files.set(file.absolutePath, state);
        if (state.problems.length === 0 && file.dagId) {
          state.problems.push(...this.duplicateOf(file.absolutePath, file.file, file.dagId));
        }
        if (state.problems.length === 0 && file.dagId && file.summary) {
          const cached = verified.get(file.absolutePath);
          let bundle: ReadyBundle | undefined;
          let inputs: string[];
          if (cached) {
            const { dagId, bundle: name, sha256 } = cached;
            bundle = this.ready({ dagId, bundle: name, sha256, source: file.file }, file.summary, state);
            inputs = Object.keys(cached.dagFiles);
          } else {
            const built = await this.bundle(file.summary, file.file, file.absolutePath, state);
            bundle = built;
            inputs = built?.inputs ?? [];
            if (built) {
              const { dagId, bundle: name, sha256 } = built.entry;
              await this.verified.put(
                keys.get(file.absolutePath)!,
                { dagId, bundle: name, sha256, summary: file.summary, inputs },
                this.bundleDir,
                scan,
              );
            }
          }
          state.dagImports = inputs.filter((input) => input !== file.absolutePath && scan.dags.has(input));
          if (bundle) ready.push({ path: file.absolutePath, bundle, previous });
        }
        // A file that fails to import does not say its DAG id; its last good version does.
        const dagId = state.entry?.dagId;
        const keeps = dagId ? this.loader.keeps(dagId) : '';
        state.problems = state.problems.map((p) => ({
          ...p,
          ...(p.dagId === undefined && dagId ? { dagId } : {}),
          message: `${p.message}${keeps}`,
        }));
      }
    }

    const fresh = ready.filter((r) => this.loader.version(r.bundle.entry.dagId) !== r.bundle.entry.sha256);
    const loading = emptyRefresh();
    await this.loader.load(
      fresh.map((r) => r.bundle),
      loading,
    );
    for (const r of fresh) {
      if (this.loader.version(r.bundle.entry.dagId) === r.bundle.entry.sha256) continue;
      // The bundle did not load: the version loaded before, if any, is what runs and stays listed.
      const state = this.files.get(r.path)!;
      if (r.previous) state.entry = r.previous;
      else delete state.entry;
      state.problems.push(...loading.problems.filter((p) => p.dagId === r.bundle.entry.dagId));
    }
    result.added.push(...loading.added);
    result.updated.push(...loading.updated);
    this.loader.retireUnlisted(new Set([...this.files.values()].flatMap((f) => f.entry?.dagId ?? [])), result);
    result.problems.push(...changed.flatMap(([path]) => this.files.get(path)?.problems ?? []));
    return result;
  }

  /**
   * A DAG id another file of the folder already runs (or was given earlier in this refresh, in
   * path order): the file that had it first keeps it.
   */
  private duplicateOf(path: string, file: string, dagId: string): Problem[] {
    for (const [other, state] of this.files) {
      if (other === path || state.entry?.dagId !== dagId) continue;
      return [
        {
          file,
          dagId,
          rule: 'duplicate-dag-id',
          message: `DAG id "${dagId}" is also declared in ${state.entry.source}`,
        },
      ];
    }
    return [];
  }

  /** Builds the file's bundle; on success the state's entry is the new version to load. */
  private async bundle(
    summary: DagSummary,
    file: string,
    path: string,
    state: FileState,
  ): Promise<(ReadyBundle & { inputs: string[] }) | undefined> {
    const { dagId } = summary;
    try {
      const [bundle] = await bundleDags([{ dagId, file, absolutePath: path }], this.bundleDir, this.root);
      const ready = this.ready({ dagId, source: file, bundle: bundle!.bundle, sha256: bundle!.sha256 }, summary, state);
      return { ...ready, inputs: bundle!.inputs };
    } catch (error) {
      state.problems.push({ file, dagId, rule: 'import-error', message: (error as Error).message });
      return undefined;
    }
  }

  /** The state's entry is the new version to load, from its bundle in this process's folder. */
  private ready(entry: ManifestEntry, summary: DagSummary, state: FileState): ReadyBundle {
    state.entry = entry;
    return { entry, summary, path: join(this.bundleDir, basename(entry.bundle)) };
  }

  /**
   * Watches the folder, and rescans it every `pollEverySeconds` as well: Linux's recursive watch
   * goes deaf to a file once an editor has replaced it by a rename (vim, `sed -i`), and a rescan of
   * unchanged files costs a stat each (see FolderScanner), so a missed event is caught within seconds.
   */
  start(): void {
    this.stopped = false;
    const onChange = () => {
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => this.reload(), this.options.debounceMs ?? 200);
    };
    try {
      this.watcher = (this.options.watchFolder ?? watchRecursively)(this.root, onChange);
      this.watcher.on('error', (error) => {
        this.options.log.warn(`stopped watching ${this.folder} (${error.message}); checking it by polling`);
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (error) {
      this.options.log.warn(`cannot watch ${this.folder} (${(error as Error).message}); checking it by polling`);
    }
    this.poll();
  }

  private poll(): void {
    if (this.stopped || this.poller) return;
    this.poller = setInterval(() => this.reload(), (this.options.pollEverySeconds ?? 2) * 1_000);
  }

  /** One refresh at a time; events during one cause one more after it. */
  private reload(): void {
    if (this.stopped) return;
    if (this.pending) {
      this.again = true;
      return;
    }
    this.pending = this.refresh()
      .then((result) => {
        logRefresh(this.options.log, this.folder, result);
        if (result.changed) for (const listener of this.listeners) listener();
      })
      .catch((error: Error) =>
        this.options.log.warn(`cannot read ${this.folder}: ${error.message}; the DAGs loaded stay`),
      )
      .finally(() => {
        this.pending = undefined;
        if (this.again) {
          this.again = false;
          this.reload();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    clearTimeout(this.debounce);
    clearInterval(this.poller);
    await this.pending;
    await rm(this.bundleDir, { recursive: true, force: true });
  }
}

/** Bundle folders of processes that died without stopping (SIGKILL, a crash): nothing reads them. */
async function removeDeadProcessBundles(cacheDir: string): Promise<void> {
  const entries = await readdir(cacheDir).catch(() => []);
  for (const name of entries) {
    const pid = /^local-(\d+)$/.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || isAlive(Number(pid))) continue;
    await rm(join(cacheDir, name), { recursive: true, force: true }).catch(() => undefined);
  }
}
