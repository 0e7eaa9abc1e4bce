/**
 * Messages between the validator and an import child: one JSON line each, requests on the child's
 * file descriptor 3, answers on its descriptor 4. Not Node's IPC channel, so that the validator
 * reads answers through a buffer of bounded size whatever the child writes there.
 */
import type { DagSummary } from '../core/dag-summary.ts';

/** The child's descriptors for the two channels (0 is closed, 1 and 2 are capped output). */
export const REQUEST_FD = 3;
export const ANSWER_FD = 4;

export interface ImportRequest {
  file: string;
  /** Echoed in the answer: a line a DAG file forged on descriptor 4 does not carry it. */
  nonce: string;
}

export type ImportOutcome = { ok: true; dag: DagSummary } | { ok: false; message: string; line?: number };

export type ChildMessage =
  | { type: 'ready'; pid: number }
  /** An error with no file in hand (none should come: a child with anything left running is not reused). */
  | { type: 'stray'; message: string }
  | {
      type: 'result';
      nonce: string;
      importMs: number;
      outcome: ImportOutcome;
      /** The start of what the file printed at import time. */
      output: string;
      /**
       * Nothing the file did can reach the next file: shared state unchanged, no module loaded but
       * the file itself, nothing left running, no process started. Otherwise the child is replaced.
       */
      reusable: boolean;
      /** The file started a process: the validator ends the child's process group and looks for leftovers. */
      spawned: boolean;
    };

/**
 * In the precompiled folder, `[absolute path, …]`: the precompiled files that import nothing but
 * packages, so an import child of compiled Runway imports them without starting tsx (half of the
 * child's start-up).
 */
export const SELF_CONTAINED = 'self-contained.json';
