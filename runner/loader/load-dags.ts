/**
 * `loadDags(paths)`: imports every DAG file in isolation and reports, per file, the DAG it declares
 * or why it could not be imported. Files are imported by a small pool of child processes, each with
 * a heap limit, a per-file timeout and an output cap; a child that hangs, crashes or is tainted is
 * replaced and the other files still load. Children run with a minimal environment, so a DAG that
 * needs credentials or settings at import time fails here, not in production.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { DagSummary } from '../core/dag-summary.ts';
import { findDagFiles } from './find-dag-files.ts';
import { makePrecompiledDir, precompileDagFiles } from './precompile.ts';
import type { ChildMessage, ImportOutcome } from './import-protocol.ts';

export interface LoadDagsOptions {
  /** A file taking longer than this to import is an error. @defaultValue 30_000 (Airflow's 30 s) */
  importTimeoutMs?: number;
  /** Heap limit of each import child, in MiB. @defaultValue 512 */
  memoryLimitMb?: number;
  /** Import children running at once. @defaultValue the number of cores, at most 4 */
  concurrency?: number;
  /** Bytes a file may print at import time. @defaultValue 1 MiB */
  outputLimitBytes?: number;
  /** Paths in results are shown relative to this. @defaultValue process.cwd() */
  cwd?: string;
}

export interface DagFileResult {
  /** The path as shown to people: relative to `cwd` where possible. */
  file: string;
  absolutePath: string;
  importMs: number;
  dag?: DagSummary;
  error?: { message: string; line?: number };
}

const CHILD_ENTRY = fileURLToPath(new URL('./import-child.ts', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');
/** Variables an import child gets; nothing else, and never credentials. */
const PASSED_ENV = ['PATH', 'HOME', 'TMPDIR', 'TMP', 'TEMP', 'LANG', 'TZ', 'SystemRoot'];

export async function loadDags(paths: readonly string[], options: LoadDagsOptions = {}): Promise<DagFileResult[]> {
  const cwd = options.cwd ?? process.cwd();
  const files = await findDagFiles(paths, cwd);
  const results = new Map<string, DagFileResult>();
  const precompiled = await makePrecompiledDir();
  const compiled = precompileDagFiles(
    files.map((f) => f.absolutePath),
    precompiled.dir,
  );
  const queue = [...files];
  const slots = Math.max(1, Math.min(options.concurrency ?? Math.min(availableParallelism(), 4), files.length));
  await Promise.all(
    Array.from({ length: slots }, async () => {
      const slot = new ImportSlot(options, precompiled.dir);
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
  ).finally(() => precompiled.remove());
  return files.map((f) => results.get(f.absolutePath)!);
}

type SlotResult = Pick<DagFileResult, 'importMs' | 'dag' | 'error'>;

/** One import child, replaced whenever a file leaves it unusable. */
class ImportSlot {
  private child: ChildProcess | undefined;
  private ready: Promise<void> | undefined;
  private readonly timeoutMs: number;
  private readonly outputLimit: number;

  constructor(
    private readonly options: LoadDagsOptions,
    private readonly precompiledDir: string,
  ) {
    this.timeoutMs = options.importTimeoutMs ?? 30_000;
    this.outputLimit = options.outputLimitBytes ?? 1_048_576;
  }

  /** Starts the child, so that it boots while the DAG files are precompiled. */
  async warmUp(): Promise<void> {
    await this.start();
  }

  async importFile(file: string): Promise<SlotResult> {
    const child = await this.start();
    const started = performance.now();
    return new Promise<SlotResult>((resolve) => {
      let streamed = 0;
      let stderrTail = '';
      const finish = (result: SlotResult, kill: boolean) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        child.stdout?.off('data', onOutput);
        child.stderr?.off('data', onStderr);
        if (kill) this.kill();
        resolve(result);
      };
      const fail = (message: string, kill = true) =>
        finish({ importMs: performance.now() - started, error: { message } }, kill);
      const onMessage = (message: ChildMessage) => {
        if (message.type !== 'result' || message.file !== file) return;
        finish({ importMs: message.importMs, ...fromOutcome(message.outcome) }, message.tainted);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        const oom = /heap limit|out of memory/i.test(stderrTail);
        const limit = this.options.memoryLimitMb ?? 512;
        fail(
          oom
            ? `ran out of memory at import time (limit ${limit} MiB)`
            : `the import process died (${signal ? `signal ${signal}` : `exit code ${code}`}) while importing this file`,
          false,
        );
      };
      // Output written around the child's own interception (e.g. to file descriptor 1) is capped here.
      const onOutput = (chunk: Buffer) => {
        streamed += chunk.length;
        if (streamed > this.outputLimit) fail(`printed more than ${this.outputLimit} bytes at import time`);
      };
      const onStderr = (chunk: Buffer) => {
        stderrTail = (stderrTail + chunk.toString('utf8')).slice(-4_096);
        onOutput(chunk);
      };
      const timer = setTimeout(
        () => fail(`did not finish importing within ${this.timeoutMs} ms (an endless loop, or waiting on something?)`),
        this.timeoutMs,
      );
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.stdout?.on('data', onOutput);
      child.stderr?.on('data', onStderr);
      child.send({ file }, (error) => {
        if (error) fail(`the import process could not be reached: ${error.message}`);
      });
    });
  }

  private async start(): Promise<ChildProcess> {
    if (this.child && this.ready) {
      await this.ready;
      return this.child;
    }
    const env: NodeJS.ProcessEnv = {
      RUNWAY_IMPORT_OUTPUT_LIMIT: String(this.outputLimit),
      RUNWAY_PRECOMPILED_DIR: this.precompiledDir,
    };
    for (const name of PASSED_ENV) if (process.env[name] !== undefined) env[name] = process.env[name];
    const child = fork(CHILD_ENTRY, [], {
      execArgv: ['--import', TSX_LOADER, `--max-old-space-size=${this.options.memoryLimitMb ?? 512}`],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env,
      serialization: 'advanced',
    });
    child.stdout?.resume();
    child.stderr?.resume();
    // A send to a child that just died is reported through 'exit'; don't let it throw as well.
    child.on('error', () => undefined);
    child.once('exit', () => {
      if (this.child === child) this.kill();
    });
    this.child = child;
    this.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: ChildMessage) => {
        if (message.type !== 'ready') return;
        child.off('exit', onExit);
        resolve();
      };
      const onExit = (code: number | null) =>
        reject(new Error(`the DAG import process failed to start (exit ${code})`));
      child.once('message', onMessage);
      child.once('exit', onExit);
    });
    await this.ready;
    return child;
  }

  private kill(): void {
    this.child?.kill('SIGKILL');
    this.child = undefined;
    this.ready = undefined;
  }

  close(): void {
    this.kill();
  }
}

function fromOutcome(outcome: ImportOutcome): Pick<DagFileResult, 'dag' | 'error'> {
  if (outcome.ok) return { dag: outcome.dag };
  return { error: { message: outcome.message, ...(outcome.line === undefined ? {} : { line: outcome.line }) } };
}
