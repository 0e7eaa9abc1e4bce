/**
 * Runway's own package.json, found through Node's package self-reference (`exports["./package.json"]`):
 * the same file whether Runway runs from its TypeScript sources, from dist/, or installed in a DAG
 * repository's node_modules, where a path relative to this module would miss it.
 */
export const RUNWAY_PACKAGE_JSON = new URL(import.meta.resolve('runway/package.json'));
