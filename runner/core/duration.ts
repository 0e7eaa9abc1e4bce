/**
 * Durations are written as a number and a unit, `'90s'`, `'5m'`, `'2h'`, `'1d'`, so that a DAG
 * file reads like a schedule and a typo in the unit is a compile error.
 */
export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd';
export type Duration = `${number}${DurationUnit}`;

const UNIT_MS: Record<DurationUnit, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

export function isDuration(value: unknown): value is Duration {
  return typeof value === 'string' && DURATION_PATTERN.test(value);
}

/** Milliseconds in a duration; throws on anything that is not a `Duration`. */
export function durationMs(value: Duration): number {
  const match = DURATION_PATTERN.exec(value);
  if (!match)
    throw new Error(`"${value}" is not a duration: write a number and a unit, like "30s", "5m", "2h" or "1d"`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2] as DurationUnit]);
}
