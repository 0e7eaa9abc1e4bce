/**
 * The source of a DAG file as the loader tests write them: DAG `id` with one task, no schedule.
 * `description` is a TypeScript expression (a quoted string, or a name `header` imports); `header`
 * goes at the top level after the import of `runway` (helpers imported, code run at import).
 */
export function dagFileSource(id: string, options: { description?: string; header?: string } = {}): string {
  const { description = "'A DAG written by a test.'", header = '' } = options;
  return `import { dag } from 'runway';
${header}
export default dag({
  id: '${id}',
  description: ${description},
  owner: 'data-platform',
  tags: ['demo'],
  schedule: null,
  timezone: 'UTC',
  startDate: '2026-01-01',
}).task('one', {}, async () => 1);
`;
}
