/** Messages between the validator and an import child, over the IPC channel. */
import type { DagSummary } from '../core/dag-summary.ts';

export interface ImportRequest {
  file: string;
}

export type ImportOutcome = { ok: true; dag: DagSummary } | { ok: false; message: string; line?: number };

export type ChildMessage =
  | { type: 'ready' }
  | {
      type: 'result';
      file: string;
      importMs: number;
      outcome: ImportOutcome;
      /** The start of what the file printed at import time. */
      output: string;
      /** The file changed shared state (built-in prototypes); the child must not import another. */
      tainted: boolean;
    };
