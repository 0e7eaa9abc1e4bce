/**
 * bench/quiescence: when does each way of watching a stream call it quiet? Producers are simulated
 * on a virtual clock; every approach watches the same writes with the same 10-minute window.
 * Prints false positives (quiet before the last write: downstream would run on partial data),
 * missed changes (quiet less than a window after the last write: an overwrite or delete unseen),
 * detection delay after the last write, and S3 list calls (pages of 1,000). Run: `npm run bench:quiescence`.
 */
import { observe, pollStrategies, type QuiescenceState } from '../operators/stream/quiescence.ts';

const MIN = 60_000;
const WINDOW = 10 * MIN;

interface Event {
  t: number;
  key: string;
  op: 'put' | 'delete';
}

interface S3Object {
  key: string;
  etag: string;
  lastModified: number;
  size: number;
}

/** The prefix as a listing at time `t` would show it. */
function stateAt(events: readonly Event[], t: number): S3Object[] {
  const objects = new Map<string, S3Object>();
  for (const e of events) {
    if (e.t > t) break;
    if (e.op === 'delete') objects.delete(e.key);
    // Listings give LastModified to the second.
    else
      objects.set(e.key, {
        key: e.key,
        etag: `${e.key}@${e.t}`,
        lastModified: Math.floor(e.t / 1000) * 1000,
        size: 1_000,
      });
  }
  return [...objects.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
}

const pages = (n: number) => Math.max(1, Math.ceil(n / 1_000));
const key = (t: number, i = 0) => `events/dt=2026-03-01/firehose-${String(Math.floor(t)).padStart(12, '0')}-${i}`;

function steady(from: number, to: number, every: number, perWrite = 1): Event[] {
  const events: Event[] = [];
  for (let t = from; t <= to; t += every)
    for (let i = 0; i < perWrite; i++) events.push({ t, key: key(t, i), op: 'put' });
  return events;
}

const scenarios: Record<string, Event[]> = {
  steady: steady(0, 120 * MIN, MIN),
  'slow (gaps near the window)': [0, 9, 18.5, 27.5, 37, 46].flatMap((m) => steady(m * MIN, m * MIN, 1)),
  'bursty (50 every 5 min)': steady(0, 60 * MIN, 5 * MIN, 50),
  'pause shorter than window': [...steady(0, 30 * MIN, MIN), ...steady(38 * MIN, 50 * MIN, MIN)],
  'late straggler': [...steady(0, 60 * MIN, MIN), { t: 69 * MIN, key: key(69 * MIN), op: 'put' }],
  'overwrite in place': [...steady(0, 60 * MIN, MIN), { t: 67 * MIN, key: key(30 * MIN), op: 'put' }],
  deletes: [
    ...steady(0, 60 * MIN, MIN),
    { t: 66 * MIN, key: key(10 * MIN), op: 'delete' },
    { t: 67 * MIN, key: key(11 * MIN), op: 'delete' },
  ],
};

interface Outcome {
  quietAt: number;
  listCalls: number;
}

/** The observer the issue generalizes: count every `delay`, quiet after `needed` unchanged counts. */
function countObserver(events: readonly Event[], delay: (unchanged: number) => number, needed: number): Outcome {
  let t = 0;
  let last = -1;
  let unchanged = 0;
  let listCalls = 0;
  for (;;) {
    const objects = stateAt(events, t);
    listCalls += pages(objects.length);
    if (objects.length === last && objects.length > 0) unchanged++;
    else unchanged = 0;
    last = objects.length;
    if (unchanged >= needed) return { quietAt: t, listCalls };
    t += delay(unchanged);
  }
}

/** Airflow's S3KeysUnchangedSensor: key sets compared every poke_interval; quiet after inactivity_period. */
function airflowKeysUnchanged(events: readonly Event[], pokeInterval = MIN): Outcome {
  let t = 0;
  let previous = new Set<string>();
  let lastActivity = 0;
  let listCalls = 0;
  for (; ; t += pokeInterval) {
    const objects = stateAt(events, t);
    listCalls += pages(objects.length);
    const keys = new Set(objects.map((o) => o.key));
    const same = keys.size === previous.size && [...keys].every((k) => previous.has(k));
    if (!same) {
      lastActivity = t;
      previous = keys;
    } else if (keys.size >= 1 && t - lastActivity >= WINDOW) {
      return { quietAt: t, listCalls };
    }
  }
}

/**
 * Runway: the sensor's own decision and adaptive schedule, with its listing: incremental between
 * full lists (time-ordered keys), and a confirming full list before it calls the stream quiet.
 */
function runway(events: readonly Event[], fullListEvery = 10): Outcome {
  let t = 0;
  let state: QuiescenceState | undefined;
  let listCalls = 0;
  let known = new Map<string, S3Object>();
  let sinceFull = 0;
  let first = true;
  const strategy = pollStrategies.adaptive(WINDOW, { minMs: 5_000, maxMs: WINDOW });
  const observation = (objects: Iterable<S3Object>) => {
    const list = [...objects];
    return {
      count: list.length,
      bytes: list.length * 1_000,
      fingerprint: list
        .map((o) => `${o.key}:${o.etag}`)
        .sort()
        .join('|'),
      newestAt: Math.max(0, ...list.map((o) => o.lastModified + 999)),
    };
  };
  const list = (full: boolean) => {
    const now = stateAt(events, t);
    const lastKey = [...known.keys()].sort().at(-1) ?? '';
    const listed = full ? now : now.filter((o) => o.key > lastKey);
    listCalls += pages(listed.length);
    if (full) known = new Map(now.map((o) => [o.key, o]));
    else for (const o of listed) known.set(o.key, o);
  };
  for (;;) {
    const full = first || sinceFull + 1 >= fullListEvery;
    first = false;
    list(full);
    sinceFull = full ? 0 : sinceFull + 1;
    let verdict = observe(state, observation(known.values()), t, { windowMs: WINDOW });
    if (verdict.kind === 'quiet' && !full) {
      list(true);
      sinceFull = 0;
      verdict = observe(state, observation(known.values()), t, { windowMs: WINDOW });
    }
    if (verdict.kind === 'quiet') return { quietAt: t, listCalls };
    state = verdict.state;
    t += strategy(state, t);
  }
}

const approaches: Record<string, (events: readonly Event[]) => Outcome> = {
  'fixed observer (30 s, 20 unchanged)': (e) => countObserver(e, () => 30_000, 20),
  'observer, delay 30 s / unchanged': (e) => countObserver(e, (u) => 30_000 / Math.max(1, u), 20),
  'observer, delay 30 s x e^-unchanged': (e) => countObserver(e, (u) => Math.max(1_000, 30_000 * Math.exp(-u)), 20),
  'Airflow S3KeysUnchangedSensor (60 s)': (e) => airflowKeysUnchanged(e),
  'Runway streamQuiescence': (e) => runway(e),
};

const rows: string[][] = [];
const totals = new Map<string, { fp: number; calls: number; worstDelay: number }>();
for (const [scenario, events] of Object.entries(scenarios)) {
  const lastWrite = events.reduce((m, e) => Math.max(m, e.t), 0);
  for (const [name, run] of Object.entries(approaches)) {
    const { quietAt, listCalls } = run(events);
    const falsePositive = quietAt < lastWrite;
    const delay = (quietAt - lastWrite) / 1_000;
    rows.push([
      scenario,
      name,
      falsePositive ? 'YES' : 'no',
      !falsePositive && quietAt - lastWrite < WINDOW ? 'YES' : 'no',
      falsePositive ? '-' : `${delay.toFixed(0)} s`,
      String(listCalls),
    ]);
    const t = totals.get(name) ?? { fp: 0, calls: 0, worstDelay: 0 };
    totals.set(name, {
      fp: t.fp + (falsePositive ? 1 : 0),
      calls: t.calls + listCalls,
      worstDelay: Math.max(t.worstDelay, falsePositive ? 0 : delay),
    });
  }
}

const table = (header: string[], body: string[][]) => {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
};

console.log(`bench/quiescence: window ${WINDOW / MIN} min, virtual clock, S3 list calls counted in pages of 1,000\n`);
console.log(
  table(['scenario', 'approach', 'false positive', 'missed a change', 'detected after last write', 'list calls'], rows),
);
console.log('\nTotals over all scenarios');
const fixedCalls = totals.get('fixed observer (30 s, 20 unchanged)')!.calls;
console.log(
  table(
    ['approach', 'false positives', 'worst delay', 'list calls', 'vs fixed observer'],
    [...totals].map(([name, t]) => [
      name,
      String(t.fp),
      `${t.worstDelay.toFixed(0)} s`,
      String(t.calls),
      `${(fixedCalls / t.calls).toFixed(1)}x fewer`,
    ]),
  ),
);
console.log(
  `\nTarget for Runway: 0 false positives, detection within window + 2 s (${WINDOW / 1000 + 2} s), >= 10x fewer list calls than the fixed observer.`,
);
