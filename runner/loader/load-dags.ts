/**
 * `loadDags(paths)`: imports every DAG file in isolation and reports, per file, the DAG it declares
 * or why it could not be imported. Files are imported by a small pool of child processes, each with
 * a heap limit, a per-file timeout and output caps, started through a launcher with a minimal
 * environment. A child imports another file only if the last one left it unchanged (`import-slot.ts`),
 * so a file's verdict does not depend on which files came before it; a child that hangs, crashes or
 * was changed is replaced, and the other files still load.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { DagSummary } from '../core/dag-summary.ts';
import { discoverDagFiles, type SkippedLink } from './find-dag-files.ts';
import { ImportSlot } from './import-slot.ts';
import { makePrecompiledDir, precompileDagFiles } from './precompile.ts';
import { endOrphansOfDeadValidators, endProcesses } from './process-sweep.ts';

export interface LoadDagsOptions {
  /** A file taking longer than this to import (and settle) is an error. @defaultValue 30_000 (Airflow's 30 s) */
  importTimeoutMs?: number;
  /** Heap limit of each import child, in MiB. @defaultValue 512 */
  memoryLimitMb?: number;
  /** Import children running at once. @defaultValue the number of cores, at most 4 */
  concurrency?: number;
  /** Bytes a file may print at import time. @defaultValue 1 MiB */
  outputLimitBytes?: number;
  /** Bytes of JSON a DAG's summary may have; a larger DAG is an error. @defaultValue 1 MiB */
  summaryLimitBytes?: number;
  /**
   * How long, after its import returned, what a file left running (timers, sockets, processes) may
   * take to end; what it throws meanwhile is the file's error. @defaultValue 500
   */
  settleMs?: number;
  /** Paths in results are shown relative to this. @defaultValue process.cwd() */
  cwd?: string;
  /** Called with each symbolic link found in a folder and not followed. */
  onSkippedLink?: (link: SkippedLink) => void;
}

export interface DagFileResult {
  /** The path as shown to people: relative to `cwd` where possible. */
  file: string;
  absolutePath: string;
  importMs: number;
  dag?: DagSummary;
  error?: { message: string; line?: number };
}

export async function loadDags(paths: readonly string[], options: LoadDagsOptions = {}): Promise<DagFileResult[]> {
  const cwd = options.cwd ?? process.cwd();
  const { files, skipped } = await discoverDagFiles(paths, cwd);
  for (const link of skipped) options.onSkippedLink?.(link);
  // What a validator killed earlier left behind: its files' processes, its temporary folder.
  endOrphansOfDeadValidators();
  const results = new Map<string, DagFileResult>();
  const precompiled = await makePrecompiledDir();
  const compiled = precompileDagFiles(
    files.map((f) => f.absolutePath),
    precompiled.dir,
  );
  const runToken = `${process.pid}-${randomUUID().slice(0, 8)}`;
  const queue = [...files];
  const slots = Math.max(1, Math.min(options.concurrency ?? Math.min(availableParallelism(), 4), files.length));
  await Promise.all(
    Array.from({ length: slots }, async () => {
      const slot = new ImportSlot({
        timeoutMs: options.importTimeoutMs ?? 30_000,
        memoryLimitMb: options.memoryLimitMb ?? 512,
        outputLimitBytes: options.outputLimitBytes ?? 1_048_576,
        summaryLimitBytes: options.summaryLimitBytes ?? 1_048_576,
        settleMs: options.settleMs ?? 500,
        precompiledDir: precompiled.dir,
        runToken,
      });
      try {
        await slot.warmUp();
        await compiled;
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
          results.set(next.absolutePath, { ...next, ...(await slot.importFile(next.absolutePath)) });
        }
      } finally {
        slot.close();
      }
    }),
  ).finally(async () => {
    // Anything of this run's still running (a process that left its group and its parent) ends now.
    endProcesses({ token: runToken });
    await precompiled.remove();
  });
  return files.map((f) => results.get(f.absolutePath)!);
}
