/** A DAG's graph as text for a terminal and as Mermaid for a pull request. Pure. */
import type { DagSummary } from './dag-summary.ts';

/** Tasks in dependency order, each with what it waits for and its trigger rule. */
export function renderGraphText(dag: DagSummary): string {
  const lines = [`${dag.dagId}  schedule=${dag.schedule ?? 'manual'}  timezone=${dag.timezone}`];
  for (const task of dag.tasks) {
    const kind = task.sensor ? `${task.operator} sensor` : task.operator;
    const waits = task.upstream.length === 0 ? '(root)' : `<- ${task.upstream.join(', ')}`;
    const rule = task.triggerRule === 'all_success' ? '' : `  [${task.triggerRule}]`;
    lines.push(`  ${task.id}  (${kind})  ${waits}${rule}`);
  }
  return lines.join('\n');
}

export function renderGraphMermaid(dag: DagSummary): string {
  const node = (id: string) => `${id.replace(/[^A-Za-z0-9_]/g, '_')}["${id}"]`;
  const lines = ['flowchart LR'];
  for (const task of dag.tasks) {
    if (task.upstream.length === 0) lines.push(`  ${node(task.id)}`);
    for (const up of task.upstream) {
      const label = task.triggerRule === 'all_success' ? '' : `|${task.triggerRule}|`;
      lines.push(`  ${node(up)} -->${label} ${node(task.id)}`);
    }
  }
  return lines.join('\n');
}
