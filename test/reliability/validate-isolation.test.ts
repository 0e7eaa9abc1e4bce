/**
 * The validation gate tells the truth about each file whatever its neighbours do: the same verdict
 * alone, in a folder of hostile files, in reverse order and in one import process; a file cannot
 * read the validator's secrets, write into its output, leave processes running, loop discovery,
 * swell the validator's memory, or leave a killed validator's temporary folder behind.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { Problem } from '../../runner/core/problem.ts';
import { loadDags, type DagFileResult } from '../../runner/loader/load-dags.ts';
import { validate } from '../../runner/loader/validate.ts';
import { DEFAULT_POLICY } from '../../runner/core/policy.ts';
import { REPO_ROOT } from '../helpers/run-cli.ts';

const FOLDER = 'test/fixtures/hostile-isolation';
const MARKER = 'runway-hostile-marker';

/** What each file of the corpus must get, alone or not. */
const EXPECTED: Record<string, string | RegExp> = {
  'good-first.ts': 'ok',
  'zz-canary.ts': 'ok',
  'reads-parent-secrets.ts': 'ok',
  'floods-parent-stdout.ts': 'ok',
  'forges-answer.ts': /^Error: the real verdict: this file fails$/,
  'floods-answer-channel.ts': /^sent an answer of more than 1114112 bytes to the validator$/,
  'throws-from-timer.ts': /^failed after import: Error: late failure from a timer$/,
  'throws-from-unref-timer.ts': /^failed after import: Error: late failure from an unref timer$/,
  'rejects-later.ts': /^failed after import: Error: late rejection$/,
  'rejects-unawaited.ts': /^failed after import: Error: rejected at import, never awaited$/,
  'exits-from-timer.ts': /^failed after import: Error: called process\.exit\(4\)/,
  'kills-itself-later.ts': /^the import process died \(signal SIGKILL\) while importing this file$/,
  'kills-parent.ts': /^Error: called process\.kill\(\) on another process at import time \(SIGKILL\)/,
  'patches-fetch.ts': /^changed a built-in prototype or global at import time \(fetch\)/,
  'patches-fs.ts': /^changed a built-in prototype or global at import time \(fs\.existsSync\)/,
  'sets-env.ts': /^set environment variables at import time \(WAREHOUSE_PASSWORD\)/,
  // The loader adds its hint on reading settings at run time; the verdict is the file's own error.
  'uses-env-set-by-neighbour.ts':
    /^Error: WAREHOUSE_PASSWORD is not set; this file reads process.env.WAREHOUSE_PASSWORD when it is imported, /,
  'starts-detached-process.ts': /^left 1 process\(es\) running after its import, which validate ended: …\. A DAG/,
  'starts-orphan-process.ts': /^left 1 process\(es\) running after its import, which validate ended: …\. A DAG/,
};

/** Which processes a file left, and their pids, vary from run to run; that it left them does not. */
const verdict = (r: DagFileResult) =>
  r.error ? r.error.message.replace(/ended: pid .*\. A DAG/, 'ended: …. A DAG') : 'ok';
const verdicts = (results: readonly DagFileResult[]) =>
  Object.fromEntries(results.map((r) => [basename(r.file), verdict(r)]));

/** Processes started by the corpus that are still running: there must be none. */
function markerProcesses(): { pid: number; args: string }[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[2]!.includes(MARKER) && !m[2]!.startsWith('ps '))
    .map((m) => ({ pid: Number(m[1]), args: m[2]! }));
}

afterAll(() => {
  // If a test failed, what the corpus started must not outlive it.
  for (const p of markerProcesses()) process.kill(p.pid, 'SIGKILL');
});

function runValidator(args: string[], env: NodeJS.ProcessEnv, outFile: string) {
  // A file for stdout, as in CI logs: a file that opens /proc/<validator>/fd/1 could write to it.
  const out = openSync(outFile, 'w');
  const child = spawn(process.execPath, ['bin/runway.js', 'validate', ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', out, 'pipe'],
  });
  closeSync(out);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, done, stderr: () => stderr };
}

describe('one verdict per file, whatever its neighbours', () => {
  it('is the same alone, in the folder, in reverse order and with one import process', async () => {
    const files = (await readdir(join(REPO_ROOT, FOLDER))).filter((f) => f.endsWith('.ts')).sort();
    expect(files.sort()).toEqual(Object.keys(EXPECTED).sort());
    const paths = files.map((f) => join(FOLDER, f));
    const options = { cwd: REPO_ROOT, importTimeoutMs: 20_000 };

    const alone: Record<string, string> = {};
    for (let i = 0; i < paths.length; i += 4) {
      const batch = await Promise.all(paths.slice(i, i + 4).map((p) => loadDags([p], { ...options, concurrency: 1 })));
      Object.assign(alone, ...batch.map(verdicts));
    }
    const inFolder = verdicts(await loadDags([FOLDER], { ...options, concurrency: 2 }));
    const oneProcess = verdicts(await loadDags([FOLDER], { ...options, concurrency: 1 }));
    const reversed = verdicts(await loadDags([...paths].reverse(), { ...options, concurrency: 1 }));

    console.log(
      [
        'hostile-isolation verdicts (alone = folder = reverse = one process):',
        ...files.map((f) => `  ${f.padEnd(30)} ${alone[f]!.slice(0, 110)}`),
      ].join('\n'),
    );
    for (const [file, expected] of Object.entries(EXPECTED)) {
      if (typeof expected === 'string') expect(alone[file], file).toBe(expected);
      else expect(alone[file], file).toMatch(expected);
    }
    expect(inFolder).toEqual(alone);
    expect(oneProcess).toEqual(alone);
    expect(reversed).toEqual(alone);
    expect(markerProcesses()).toEqual([]);
  }, 280_000);
});

describe('containment', () => {
  it("keeps the validator's environment and output out of a file's reach, and ends what a file started", async () => {
    const secret = `opensesame-${randomUUID()}`;
    const dir = await mkdtemp(join(tmpdir(), 'runway-containment-'));
    const outFile = join(dir, 'stdout.txt');
    const run = runValidator(
      [FOLDER, '--format', 'json', '--import-timeout', '20'],
      { ...process.env, RUNWAY_HOSTILE_SECRET: secret },
      outFile,
    );
    const { code, signal } = await run.done;
    const stdout = await readFile(outFile, 'utf8');
    await rm(dir, { recursive: true, force: true });

    expect(signal, 'the validator must survive its files').toBeNull();
    expect(code).toBe(1);
    expect(stdout).not.toContain(secret);
    expect(run.stderr()).not.toContain(secret);
    expect(stdout).not.toMatch(/FORGED|FLOOD/);
    const report = JSON.parse(stdout) as { files: number; problems: Problem[] };
    const problemOf = (f: string) => report.problems.find((p) => p.file === `${FOLDER}/${f}`);
    expect(report.files).toBe(Object.keys(EXPECTED).length);
    expect(problemOf('reads-parent-secrets.ts')).toBeUndefined();
    expect(problemOf('floods-parent-stdout.ts')).toBeUndefined();
    expect(problemOf('forges-answer.ts')?.message).toBe('Error: the real verdict: this file fails');
    expect(problemOf('kills-parent.ts')?.message).toMatch(/called process\.kill\(\) on another process/);
    expect(problemOf('starts-detached-process.ts')?.message).toMatch(/left 1 process\(es\) running/);
    expect(problemOf('starts-orphan-process.ts')?.message).toMatch(/left 1 process\(es\) running/);
    expect(markerProcesses()).toEqual([]);
  }, 180_000);
});

describe('a bounded run', () => {
  const linkFolder = join(REPO_ROOT, 'test/fixtures', `.links-${randomUUID().slice(0, 8)}`);
  afterAll(() => rm(linkFolder, { recursive: true, force: true }));

  it('does not follow links out of the folder, into a loop or to a second name, and says which it skipped', async () => {
    const good = await readFile(join(REPO_ROOT, FOLDER, 'good-first.ts'), 'utf8');
    await mkdir(join(linkFolder, 'sub'), { recursive: true });
    await writeFile(join(linkFolder, 'good.ts'), good);
    await writeFile(join(linkFolder, 'sub/deep.ts'), good.replace('iso_good_first', 'iso_good_deep'));
    await symlink('.', join(linkFolder, 'loop-a'));
    await symlink('.', join(linkFolder, 'loop-b'));
    await symlink('sub', join(linkFolder, 'sub-again'));
    await symlink('good.ts', join(linkFolder, 'again.ts'));
    await symlink('missing.ts', join(linkFolder, 'dangling.ts'));
    await symlink(join(REPO_ROOT, FOLDER), join(linkFolder, 'outside'));

    const report = await validate([linkFolder], { policy: DEFAULT_POLICY, cwd: linkFolder });
    expect(report.files.map((f) => f.file).sort()).toEqual(['good.ts', 'sub/deep.ts']);
    expect(report.problems).toEqual([]);
    const skipped = Object.fromEntries(report.skippedLinks.map((l) => [l.file, l.reason]));
    expect(skipped).toEqual({
      'again.ts': 'is another name for good.ts',
      'dangling.ts': 'leads to nothing',
      'loop-a': expect.stringMatching(/^leads back into .*a folder already walked$/),
      'loop-b': expect.stringMatching(/^leads back into .*a folder already walked$/),
      'sub-again': 'leads back into sub, a folder already walked',
      outside: expect.stringMatching(/^leads out of /),
    });
  }, 120_000);

  it("keeps the validator's own memory small when files declare 300 MB descriptions", async () => {
    const folder = 'test/fixtures/hostile-run/huge-descriptions';
    const child = spawn(process.execPath, ['bin/runway.js', 'validate', folder, '--format', 'json'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    // VmHWM is the peak resident size so far: the last reading before exit is the run's peak.
    let peakKib = 0;
    const sampler = setInterval(() => {
      const status = (() => {
        try {
          return readFileSync(`/proc/${child.pid}/status`, 'utf8');
        } catch {
          return '';
        }
      })();
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
      if (hwm) peakKib = Math.max(peakKib, Number(hwm[1]));
    }, 50);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearInterval(sampler);
    console.log(`5 files with a 300 MB description: the validator's own peak RSS ${(peakKib / 1024).toFixed(0)} MiB`);

    expect(code).toBe(1);
    const report = JSON.parse(stdout) as { files: number; problems: Problem[] };
    expect(report.files).toBe(5);
    for (const p of report.problems) {
      expect(p.message).toMatch(/^its DAG is larger than the 1048576 bytes a summary may have \(field "description"/);
    }
    expect(report.problems).toHaveLength(5);
    expect(peakKib / 1024).toBeLessThan(400);
  }, 180_000);

  it('leaves no temporary folder of a killed validator once the next one has run', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'runway-killed-'));
    const env = { ...process.env, TMPDIR: tmp };
    const leftovers = async () => (await readdir(tmp)).filter((e) => e.startsWith('runway-dags-'));
    try {
      const killed = runValidator(['test/fixtures/hostile-run/kills-validator'], env, join(tmp, 'out-1.txt'));
      expect((await killed.done).signal).toBe('SIGKILL');
      expect(await leftovers()).toHaveLength(1);

      const next = runValidator([`${FOLDER}/good-first.ts`], env, join(tmp, 'out-2.txt'));
      expect((await next.done).code).toBe(0);
      expect(await leftovers()).toEqual([]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }, 180_000);
});
