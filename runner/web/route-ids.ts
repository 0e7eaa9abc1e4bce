/**
 * DAG, run and task ids in URL paths. The id alphabet allows `.` and `..`, which every URL parser
 * (the browser's, Node's fetch, `new URL`) removes as dot segments, even written `%2E%2E`. So a
 * segment that would be one is written with a leading `~`, which no encoded id starts with (`~`
 * itself is written `%7E`). `ui.js` has the same two functions for the page's links.
 */
export function encodeIdSegment(id: string): string {
  const encoded = encodeURIComponent(id).replaceAll('~', '%7E');
  return encoded === '.' || encoded === '..' ? `~${encoded}` : encoded;
}

/** The id a path segment names; a malformed %-escape throws `URIError`. */
export function decodeIdSegment(segment: string): string {
  return decodeURIComponent(segment.startsWith('~') ? segment.slice(1) : segment);
}
