/**
 * What an import error says and where it points: the line of the option a `dag()` or `.task()`
 * error names, and a hint when the cause is a known author mistake (reading `process.env` at import).
 */
import { readFileSync, realpathSync } from 'node:fs';
import { lineFromError, lineOfOption } from './error-location.ts';
import { environmentHint } from './import-hints.ts';

export function explainImportError(
  error: unknown,
  file: string,
  described: string,
  fallbackLine: (error: unknown, file: string) => number | undefined,
): { message: string; line: number | undefined } {
  const source = readSource(file);
  let line = lineFromError(error, file, realPath(file)) ?? fallbackLine(error, file);
  if (line !== undefined && error instanceof Error && error.name === 'DagDefinitionError') {
    line = lineOfOption(source, (error as Error & { field?: string }).field, line);
  }
  const hint = environmentHint(error, source);
  return { message: hint ? `${described}; ${hint}` : described, line };
}

function readSource(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function realPath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}
