/**
 * Cron ticks remembered. At a boundary a scheduler pass asks the same few questions for every DAG
 * that shares a schedule (the tick after 10:00 of `*\/5 * * * *` in UTC, say), and each answer costs
 * cron-parser and luxon tens of microseconds: profiled at 1,000 due DAGs, they were most of the
 * pass. The answers are pure, so they are kept, up to a bound, and handed out as fresh dates.
 */
import * as ticks from './cron-ticks.ts';

type Tick = (expression: string, timezone: string, at: Date) => Date | undefined;

/** Answers kept; past it the memo starts again (a pass asks a few per distinct schedule). */
const MAX_ANSWERS = 50_000;
/** Epoch ms of the answer; NaN for none. */
const answers = new Map<string, number>();

function remembered(kind: string, tick: Tick): Tick {
  return (expression, timezone, at) => {
    const key = `${kind}|${at.getTime()}|${timezone}|${expression}`;
    let answer = answers.get(key);
    if (answer === undefined) {
      answer = tick(expression, timezone, at)?.getTime() ?? Number.NaN;
      if (answers.size >= MAX_ANSWERS) answers.clear();
      answers.set(key, answer);
    }
    return Number.isNaN(answer) ? undefined : new Date(answer);
  };
}

/** `cron-ticks.ts`'s `nextTick`, remembered. */
export const nextTick = remembered('next', ticks.nextTick);
/** `cron-ticks.ts`'s `prevTick`, remembered. */
export const prevTick = remembered('prev', ticks.prevTick);
/** `cron-ticks.ts`'s `alignToNext`, remembered. */
export const alignToNext = remembered('alignNext', ticks.alignToNext);
/** `cron-ticks.ts`'s `alignToPrev`, remembered. */
export const alignToPrev = remembered('alignPrev', ticks.alignToPrev);
