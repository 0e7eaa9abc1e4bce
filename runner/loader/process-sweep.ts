/**
 * Finding and ending the processes a DAG file started. Every import child runs in its own process
 * group and with a token in its environment (`RUNWAY_IMPORT_TOKEN=<validator pid>-<random>`), which
 * the processes it starts inherit: a process is the file's if it is in the group, or carries the
 * token even after leaving the group (`detached: true`, `setsid`). Linux's `/proc` is read; where
 * there is none, only the process group is ended.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export const TOKEN_VARIABLE = 'RUNWAY_IMPORT_TOKEN';

export interface FoundProcess {
  pid: number;
  command: string;
}

const hasProc = (() => {
  try {
    readdirSync('/proc/self');
    return true;
  } catch {
    return false;
  }
})();

const namespaceOf = (pid: number | 'self') => {
  try {
    return /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/pid`))?.[1];
  } catch {
    return undefined;
  }
};

/**
 * This process's PID namespace, as a number ('0' where unknown): a pid means something only inside
 * its namespace, so what names another validator by pid is left alone if it is from another one
 * (a container sharing the host's /proc or /tmp).
 */
export const PID_NAMESPACE = namespaceOf('self') ?? '0';

const read = (path: string) => {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
};

/**
 * Processes in process group `pgid`, or whose environment carries `token` or a token under it
 * (`<token>-…`); with no token, any import token.
 */
export function findProcesses(match: { pgid?: number; token?: string }): FoundProcess[] {
  if (!hasProc) return [];
  const found: FoundProcess[] = [];
  const needle = `${TOKEN_VARIABLE}=${match.token ?? ''}`;
  const carries = (v: string) =>
    match.token === undefined ? v.startsWith(needle) : v === needle || v.startsWith(`${needle}-`);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    // /proc/<pid>/stat: "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    const stat = read(`/proc/${pid}/stat`);
    if (stat === undefined) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') continue;
    const inGroup = match.pgid !== undefined && Number(fields[2]) === match.pgid;
    const carriesToken = !inGroup && (read(`/proc/${pid}/environ`) ?? '').split('\0').some(carries);
    if (!inGroup && !carriesToken) continue;
    // A process that is exiting (just killed with its group) has no command line left; its name stays.
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const command = (read(`/proc/${pid}/cmdline`) ?? '').split('\0').join(' ').trim().slice(0, 200) || `[${name}]`;
    found.push({ pid, command });
  }
  return found;
}

/**
 * SIGKILLs a process group and then every process `findProcesses` still finds; returns every process
 * found, before the group was ended or after. Looking before too makes the answer not depend on
 * timing: a process the file started that had not yet left the group (a `setsid` still on its way,
 * on a loaded machine) dies with the group, and is still reported.
 */
export function endProcesses(match: { pgid?: number; token: string }, exclude: readonly number[] = []): FoundProcess[] {
  const mine = (p: FoundProcess) => !exclude.includes(p.pid);
  const before = findProcesses(match).filter(mine);
  if (match.pgid !== undefined) kill(-match.pgid);
  const left = findProcesses(match).filter(mine);
  for (const p of left) kill(p.pid);
  const seen = new Set(left.map((p) => p.pid));
  return [...left, ...before.filter((p) => !seen.has(p.pid))];
}

/**
 * Ends what an earlier validator left running when it was killed before it could: processes whose
 * token names a validator process that no longer exists.
 */
export function endOrphansOfDeadValidators(): void {
  for (const p of findProcesses({})) {
    const environ = read(`/proc/${p.pid}/environ`) ?? '';
    const token = environ.split('\0').find((v) => v.startsWith(`${TOKEN_VARIABLE}=`));
    const owner = Number(token?.slice(TOKEN_VARIABLE.length + 1).split('-')[0]);
    const sameNamespace = namespaceOf(p.pid) === PID_NAMESPACE;
    if (sameNamespace && Number.isInteger(owner) && owner > 0 && !isAlive(owner)) kill(p.pid);
  }
}

/** Whether a process exists (one of another user counts). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}
