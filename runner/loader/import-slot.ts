/**
 * One import child at a time, as `loadDags` uses them: started, asked for one file after another
 * while it says it is unchanged, and replaced when it is not, when it dies, hangs or prints too much.
 *
 * The child is not started by the validator itself but by a launcher (`/bin/sh`) that is started
 * with only the variables a child may see and with pipes for its descriptors: a file reading
 * `/proc/<parent>/environ` finds no secret, and one writing to `/proc/<parent>/fd/1` writes into a
 * pipe the validator reads with a cap. The launcher leads a process group of its own; when a child is
 * done with, the group is ended, and so is any process carrying the child's token.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import { CappedLineReader } from './capped-json.ts';
import type { DagFileResult } from './load-dags.ts';
import type { ChildMessage, ImportOutcome } from './import-protocol.ts';
import { endProcesses, TOKEN_VARIABLE, type FoundProcess } from './process-sweep.ts';

export interface ImportSlotSettings {
  timeoutMs: number;
  memoryLimitMb: number;
  outputLimitBytes: number;
  summaryLimitBytes: number;
  settleMs: number;
  precompiledDir: string;
  /** `<validator pid>-<random>`: each child's token is this and a number. */
  runToken: string;
}

export type SlotResult = Pick<DagFileResult, 'importMs' | 'dag' | 'error'>;

const FROM_SOURCES = import.meta.url.endsWith('.ts');
/** The child from the same tree as this module: dist/ when compiled, the sources otherwise. */
const CHILD_ENTRY = fileURLToPath(new URL(FROM_SOURCES ? './import-child.ts' : './import-child.js', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');
/**
 * From the sources, the child runs them through tsx, and `runway` resolves to them, so DAGs share
 * the runner's module instance. Compiled, the child starts tsx only for a file the precompile step
 * did not make self-contained (a DAG's helper modules, a file esbuild rejects).
 */
const CHILD_LOADER_FLAGS = FROM_SOURCES ? ['--import', TSX_LOADER, '--conditions=runway-source'] : [];
/** Variables an import child gets; nothing else, and never credentials. */
const PASSED_ENV = ['PATH', 'HOME', 'TMPDIR', 'TMP', 'TEMP', 'LANG', 'TZ', 'SystemRoot'];
/** Runway's public entry points: loaded once per child, before any DAG file, which all import them. */
const PRELOAD = ['runway', 'runway/operators'];
/** Stays the launcher's parent while the child runs, so the child's parent is the launcher. */
const LAUNCHER_SCRIPT = '"$@" & wait $!';

let childCount = 0;

interface Running {
  launcher: ChildProcess;
  token: string;
  childPid?: number;
  ready: Promise<void>;
  /** Set while a file is in hand. */
  onMessage?: (message: ChildMessage) => void;
  onExit?: (description: string) => void;
  onOverflow?: (what: string) => void;
  stderrTail: string;
  /** Set once the child is ended: the processes found besides the launcher and the child. */
  left?: FoundProcess[];
}

export class ImportSlot {
  private running: Running | undefined;

  constructor(private readonly settings: ImportSlotSettings) {}

  /** Starts the child, so that it boots while the DAG files are precompiled. */
  async warmUp(): Promise<void> {
    await this.start().ready;
  }

  async importFile(file: string): Promise<SlotResult> {
    let running = this.start();
    try {
      await running.ready;
    } catch {
      // One retry: a child that failed to start is not the file's fault.
      running = this.start();
      await running.ready;
    }
    const started = performance.now();
    const nonce = randomUUID();
    const result = await new Promise<{ result: SlotResult; retire: boolean; spawned: boolean }>((resolve) => {
      const finish = (result: SlotResult, retire: boolean, spawned = false) => {
        clearTimeout(timer);
        running.onMessage = running.onExit = running.onOverflow = undefined;
        resolve({ result, retire, spawned });
      };
      const fail = (message: string) => finish({ importMs: performance.now() - started, error: { message } }, true);
      running.onMessage = (message) => {
        if (message.type !== 'result' || message.nonce !== nonce) return;
        finish({ importMs: message.importMs, ...fromOutcome(message.outcome) }, !message.reusable, message.spawned);
      };
      running.onExit = (description) => {
        const oom = /heap limit|out of memory/i.test(running.stderrTail);
        fail(
          oom
            ? `ran out of memory at import time (limit ${this.settings.memoryLimitMb} MiB)`
            : `the import process died (${description}) while importing this file`,
        );
      };
      running.onOverflow = fail;
      const timer = setTimeout(
        () =>
          fail(
            `did not finish importing within ${this.settings.timeoutMs} ms (an endless loop, or waiting on something?)`,
          ),
        this.settings.timeoutMs,
      );
      (running.launcher.stdio[3] as Writable).write(`${JSON.stringify({ file, nonce })}\n`);
    });
    if (!result.retire) return result.result;
    const left = this.retire(running).filter((p) => !isToolOfTheChild(p));
    if (left.length === 0) return result.result;
    const listed = left
      .slice(0, 3)
      .map((p) => `pid ${p.pid} (${p.command.slice(0, 60)})`)
      .join(', ');
    const more = left.length > 3 ? ` and ${left.length - 3} more` : '';
    return {
      importMs: result.result.importMs,
      error: {
        message: `left ${left.length} process(es) running after its import, which validate ended: ${listed}${more}. A DAG file must only declare its DAG`,
      },
    };
  }

  /** Ends the child and everything it started; returns the processes besides the launcher and child. */
  close(): FoundProcess[] {
    return this.running ? this.retire(this.running) : [];
  }

  private retire(running: Running): FoundProcess[] {
    if (this.running === running) this.running = undefined;
    const exclude = [running.launcher.pid!, ...(running.childPid === undefined ? [] : [running.childPid])];
    running.left ??= endProcesses({ pgid: running.launcher.pid, token: running.token }, exclude);
    return running.left;
  }

  private start(): Running {
    if (this.running) return this.running;
    const { settings } = this;
    const token = `${settings.runToken}-${++childCount}`;
    const env: NodeJS.ProcessEnv = {
      [TOKEN_VARIABLE]: token,
      RUNWAY_IMPORT_OUTPUT_LIMIT: String(settings.outputLimitBytes),
      RUNWAY_SUMMARY_LIMIT: String(settings.summaryLimitBytes),
      RUNWAY_SETTLE_MS: String(settings.settleMs),
      RUNWAY_PRECOMPILED_DIR: settings.precompiledDir,
      RUNWAY_PRELOAD: PRELOAD.join(','),
      // The AWS SDK (through @aws/lambda-invoke-store) adds a global `awslambda` when it loads, unless
      // told not to; without this, a DAG file importing the SDK would be reported for changing globals.
      AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA: '1',
    };
    for (const name of PASSED_ENV) if (process.env[name] !== undefined) env[name] = process.env[name];
    const launcher = spawn(
      '/bin/sh',
      [
        '-c',
        LAUNCHER_SCRIPT,
        'runway-import-launcher',
        process.execPath,
        ...CHILD_LOADER_FLAGS,
        `--max-old-space-size=${settings.memoryLimitMb}`,
        CHILD_ENTRY,
      ],
      { env, detached: true, stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] },
    );
    const running: Running = { launcher, token, ready: Promise.resolve(), stderrTail: '' };
    let ready: () => void;
    let failed: (error: Error) => void;
    running.ready = new Promise<void>((resolve, reject) => ((ready = resolve), (failed = reject)));
    // A start failure is handled where `ready` is awaited; don't let it be an unhandled rejection too.
    running.ready.catch(() => undefined);

    // Output written around the child's own interception (to descriptor 1, or /proc/<ppid>/fd/1) is capped here.
    let printed = 0;
    const onOutput = (chunk: Buffer) => {
      printed += chunk.length;
      if (printed > settings.outputLimitBytes) {
        running.onOverflow?.(`printed more than ${settings.outputLimitBytes} bytes at import time`);
        this.retire(running);
      }
    };
    launcher.stdout!.on('data', onOutput);
    launcher.stderr!.on('data', (chunk: Buffer) => {
      running.stderrTail = (running.stderrTail + chunk.toString('utf8')).slice(-4_096);
      onOutput(chunk);
    });
    const answerLimit = settings.summaryLimitBytes + 65_536;
    const answers = new CappedLineReader(
      answerLimit,
      (line) => {
        let message: ChildMessage;
        try {
          message = JSON.parse(line) as ChildMessage;
        } catch {
          return; // Not the child's: a file writing to descriptor 4. Without the nonce it decides nothing.
        }
        if (message.type === 'ready' && running.childPid === undefined) {
          running.childPid = message.pid;
          ready();
        } else running.onMessage?.(message);
      },
      () => {
        running.onOverflow?.(`sent an answer of more than ${answerLimit} bytes to the validator`);
        this.retire(running);
      },
    );
    (launcher.stdio[4] as Readable).on('data', (chunk: Buffer) => answers.push(chunk));
    // A write to a child that just died is reported through 'exit'; don't let it throw as well.
    launcher.on('error', (error) => failed(new Error(`the DAG import process failed to start: ${error.message}`)));
    (launcher.stdio[3] as Writable).on('error', () => undefined);
    launcher.once('exit', (code, signal) => {
      const description = describeExit(code, signal);
      failed(new Error(`the DAG import process failed to start (${description}): ${running.stderrTail.trim()}`));
      running.onExit?.(description);
      this.retire(running);
    });
    this.running = running;
    return running;
  }
}

/** The launcher exits as its child did: 128 + n for a child killed by signal n. */
function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `signal ${signal}`;
  const byNumber = Object.entries(constants.signals).find(([, n]) => code !== null && code === 128 + n);
  return byNumber ? `signal ${byNumber[0]}` : `exit code ${code}`;
}

/** tsx compiles a helper module through a long-lived esbuild service: the child's tool, not the file's doing. */
const isToolOfTheChild = (p: FoundProcess) =>
  /\/esbuild(\.exe)?\s.*--service=/.test(p.command) || p.command === '[esbuild]';

function fromOutcome(outcome: ImportOutcome): Pick<DagFileResult, 'dag' | 'error'> {
  if (outcome.ok) return { dag: outcome.dag };
  return { error: { message: outcome.message, ...(outcome.line === undefined ? {} : { line: outcome.line }) } };
}
