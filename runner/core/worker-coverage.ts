/**
 * Whether the live workers can run a DAG: one of them must have it loaded, on each queue its tasks
 * use. Said at trigger time and in the UI, so a run no worker will take is not left "running" in
 * silence.
 */

/** What a worker says of itself in its heartbeat. */
export interface WorkerAdvert {
  id: string;
  host: string;
  pid: number;
  queues: readonly string[];
  dagIds: readonly string[];
}

/** Why the DAG's tasks would wait for a worker, or undefined when every queue it uses is served. */
export function coverageGap(
  workers: readonly WorkerAdvert[],
  dagId: string,
  queues: readonly string[],
): string | undefined {
  if (workers.length === 0) {
    return 'no worker is running (none has reported in the last 15 s): its tasks wait until one starts (`runway worker`, or `npm start`)';
  }
  const withDag = workers.filter((w) => w.dagIds.includes(dagId));
  if (withDag.length === 0) {
    const alive = workers.map((w) => `${w.host}:${w.pid}`).join(', ');
    return `no worker has DAG "${dagId}" loaded (${workers.length} running: ${alive}): its tasks wait until one loads it; a worker on a DAG folder picks up a new file within seconds, else see \`runway dags list-import-errors\``;
  }
  const served = new Set(withDag.flatMap((w) => w.queues));
  const missing = [...new Set(queues)].filter((q) => !served.has(q)).sort();
  if (missing.length === 0) return undefined;
  return `no worker with DAG "${dagId}" takes queue${missing.length > 1 ? 's' : ''} ${missing.map((q) => `"${q}"`).join(', ')}: those tasks wait until one does (\`runway worker --queues ${missing.join(',')}\`)`;
}
