/**
 * Hints appended to an import error when its cause is a known mistake of DAG authors. Pure: the
 * caller passes the file's source.
 */

/** The environment variables a DAG file reads through `process.env`, in order of appearance. */
export function envVariablesRead(source: string): string[] {
  const names = new Set<string>();
  for (const match of source.matchAll(/process\.env(?:\.([A-Za-z_$][\w$]*)|\[\s*['"`]([^'"`]+)['"`]\s*\])/g)) {
    names.add(match[1] ?? match[2]!);
  }
  return [...names];
}

/**
 * When a file that reads `process.env` fails at import with what an unset variable causes (a
 * TypeError on `undefined`, or a message naming the variable), says why it is unset here and where
 * settings are read instead.
 */
export function environmentHint(error: unknown, source: string): string | undefined {
  const names = envVariablesRead(source);
  if (names.length === 0 || !(error instanceof Error)) return undefined;
  const named = names.filter((name) => error.message.includes(name));
  const onUndefined = error instanceof TypeError && /\bundefined\b/.test(error.message);
  if (named.length === 0 && !onUndefined) return undefined;
  const name = named[0] ?? names[0]!;
  return (
    `this file reads process.env.${name} when it is imported, and DAG files are imported (by runway validate, ` +
    'and by schedulers and workers) without environment variables except PATH, HOME, TMPDIR, LANG and TZ, ' +
    `so it is undefined there: read settings when the task runs, from ctx.env (\`ctx.env.${name}\` inside the task), not at import`
  );
}
