/** A DAG's graph as text for a terminal and as Mermaid for a pull request. Pure. */
import type { DagSummary, TaskSummary } from './dag-summary.ts';

/**
 * Tasks in dependency order, each with what it waits for and its trigger rule. A task group's
 * tasks follow a line for the group, indented; setups and teardowns say so.
 */
export function renderGraphText(dag: DagSummary): string {
  const lines = [`${dag.dagId}  schedule=${dag.schedule ?? 'manual'}  timezone=${dag.timezone}`];
  let open: string[] = [];
  for (const task of dag.tasks) {
    const path = groupPath(task.group);
    const common = commonLength(open, path);
    for (const group of path.slice(common)) {
      const size = dag.tasks.filter((t) => t.group === group || t.group?.startsWith(`${group}.`)).length;
      const doc = dag.groups?.find((g) => g.id === group)?.doc;
      lines.push(
        `${indent(path.indexOf(group))}${group}/  (group, ${size} task${size === 1 ? '' : 's'})${doc ? `  ${doc}` : ''}`,
      );
    }
    open = path;
    const kind = task.sensor ? `${task.operator} sensor` : task.operator;
    const waits = task.upstream.length === 0 ? '(root)' : `<- ${task.upstream.join(', ')}`;
    lines.push(`${indent(path.length)}${task.id}  (${kind})  ${waits}${tagOf(task)}`);
  }
  return lines.join('\n');
}

function tagOf(task: TaskSummary): string {
  if (task.role === 'setup') return '  [setup]';
  if (task.role === 'teardown') {
    const of = task.setups?.length ? ` of ${task.setups.join(', ')}` : '';
    return `  [teardown${of}${task.onFailureFailRun ? ', fails the run' : ''}]`;
  }
  return task.triggerRule === 'all_success' ? '' : `  [${task.triggerRule}]`;
}

/** `load.tables` → `['load', 'load.tables']`. */
function groupPath(group: string | undefined): string[] {
  if (group === undefined) return [];
  const parts = group.split('.');
  return parts.map((_, i) => parts.slice(0, i + 1).join('.'));
}

function commonLength(a: readonly string[], b: readonly string[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

const indent = (depth: number) => '  '.repeat(depth + 1);

/**
 * Each task declared once, labelled with its id, then the edges, labelled with non-default trigger
 * rules. Nodes are named by position: Mermaid names allow neither "-" nor ".", and replacing them
 * would make `load-a` and `load_a` one node. A task group is a subgraph around its tasks.
 */
export function renderGraphMermaid(dag: DagSummary): string {
  const ref = new Map(dag.tasks.map((task, i) => [task.id, `t${i}`]));
  const lines = ['flowchart LR'];
  let open: string[] = [];
  let subgraphs = 0;
  for (const task of dag.tasks) {
    const path = groupPath(task.group);
    const common = commonLength(open, path);
    for (let depth = open.length; depth > common; depth--) lines.push(`${'  '.repeat(depth)}end`);
    for (const [depth, group] of path.entries()) {
      if (depth >= common) lines.push(`${'  '.repeat(depth + 1)}subgraph g${subgraphs++}["${group}"]`);
    }
    open = path;
    lines.push(`${'  '.repeat(path.length + 1)}${ref.get(task.id)}["${task.id}"]`);
  }
  for (let depth = open.length; depth > 0; depth--) lines.push(`${'  '.repeat(depth)}end`);
  for (const task of dag.tasks) {
    const label = task.triggerRule === 'all_success' ? '' : `|${task.triggerRule}|`;
    for (const up of task.upstream) lines.push(`  ${ref.get(up)} -->${label} ${ref.get(task.id)}`);
  }
  return lines.join('\n');
}
