/**
 * The cap on a task output kept in Redis. An output is kept with every run for the whole retention,
 * so one task returning a whole table would multiply into gigabytes; past the cap the output is
 * replaced by a marker that says so, with the start of the JSON to recognise it by.
 */

/** Bytes of an output's JSON kept in Redis. @defaultValue 64 KiB */
export const MAX_OUTPUT_BYTES = 64 * 1024;

/** What a downstream task, the UI and `runway tasks` see instead of an output past the cap. */
export interface CutOutput {
  runwayOutputCut: string;
  /** The first kilobyte of the JSON. */
  head: string;
}

const HEAD_CHARS = 1_024;

/** The JSON kept for an output: itself, or a `CutOutput` if its JSON is over `limit` bytes. */
export function capOutputJson(json: string, limit = MAX_OUTPUT_BYTES): string {
  // Characters are at most 3 UTF-8 bytes each in a JS string's JSON, so short strings skip the count.
  if (json.length * 3 <= limit) return json;
  const bytes = Buffer.byteLength(json);
  if (bytes <= limit) return json;
  const cut: CutOutput = {
    runwayOutputCut:
      `output cut: its JSON is ${bytes} bytes, over the ${limit}-byte cap on outputs kept in Redis; ` +
      'return a reference (an S3 key, a table name) instead of the data',
    head: json.slice(0, HEAD_CHARS),
  };
  return JSON.stringify(cut);
}
