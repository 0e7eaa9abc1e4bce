/** Memory of a process and everything it started, as `ps` sees it: for benchmarks and bounds. */
import { execFileSync } from 'node:child_process';

/** Resident memory of a process and all its descendants, in bytes; 0 once it is gone. */
export function treeRss(pid: number): number {
  try {
    const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,rss='], { encoding: 'utf8' });
    const rows = out
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/).map(Number));
    const inTree = new Set([pid]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const [p, pp] of rows) {
        if (!inTree.has(p!) && inTree.has(pp!)) {
          inTree.add(p!);
          grew = true;
        }
      }
    }
    return rows.filter(([p]) => inTree.has(p!)).reduce((sum, [, , rss]) => sum + rss! * 1024, 0);
  } catch {
    return 0;
  }
}

/** Samples `treeRss(pid)` every `everyMs` until stopped; returns the peak. */
export function samplePeakRss(pid: number, everyMs = 100): { stop(): number } {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, treeRss(pid))), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}
