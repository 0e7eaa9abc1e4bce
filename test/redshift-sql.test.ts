import { describe, expect, it } from 'vitest';
import { renderCopy, renderCopyLoad, type CopySpec } from '../operators/redshift/render-copy.ts';
import { renderUnload, type UnloadSpec } from '../operators/redshift/render-unload.ts';
import { SqlRenderError } from '../operators/redshift/sql.ts';

const ROLE = 'arn:aws:iam::123456789012:role/redshift-loader';
const copy: CopySpec = {
  table: 'analytics.events',
  from: 's3://lake-raw/events/dt=2026-03-01/',
  iamRole: ROLE,
  format: { type: 'csv', delimiter: ',', ignoreHeader: 1, nullAs: '\\N' },
  compression: 'gzip',
  dateFormat: 'auto',
  region: 'eu-west-1',
};

describe('COPY (golden)', () => {
  it('renders a CSV append', () => {
    expect(renderCopyLoad(copy, { type: 'append' }, 'stage')).toEqual([
      [
        'COPY "analytics"."events"',
        "FROM 's3://lake-raw/events/dt=2026-03-01/'",
        "IAM_ROLE 'arn:aws:iam::123456789012:role/redshift-loader'",
        'CSV',
        "DELIMITER ','",
        'IGNOREHEADER 1',
        "NULL AS '\\\\N'",
        'GZIP',
        "DATEFORMAT 'auto'",
        "REGION 'eu-west-1'",
      ].join('\n'),
    ]);
  });

  it('renders JSON with a jsonpaths file, a quoted CSV, and each compression', () => {
    expect(
      renderCopy({
        table: 'events',
        from: 's3://bkt/k/',
        iamRole: 'default',
        format: { type: 'json', paths: 's3://bkt/jsonpaths/events.json' },
        compression: 'zstd',
        timeFormat: 'epochmillisecs',
      }),
    ).toBe(
      [
        'COPY "events"',
        "FROM 's3://bkt/k/'",
        'IAM_ROLE default',
        "FORMAT AS JSON 's3://bkt/jsonpaths/events.json'",
        'ZSTD',
        "TIMEFORMAT 'epochmillisecs'",
      ].join('\n'),
    );
    expect(
      renderCopy({ ...copy, format: { type: 'csv', quote: '"' }, compression: 'bzip2', dateFormat: undefined }),
    ).toContain("CSV\nQUOTE '\"'\nBZIP2");
    expect(() => renderCopy({ ...copy, compression: 'lzop' as never })).toThrow(
      /compression.*"lzop" is not gzip, bzip2 or zstd/,
    );
  });

  it('renders JSON with a column list, parquet, and a manifest', () => {
    expect(
      renderCopy({
        table: 'events',
        columns: ['id', 'at'],
        from: 's3://bkt/k/',
        iamRole: 'default',
        format: { type: 'json' },
      }),
    ).toBe('COPY "events" ("id", "at")\nFROM \'s3://bkt/k/\'\nIAM_ROLE default\nFORMAT AS JSON \'auto\'');
    expect(
      renderCopy({
        table: 's.t',
        from: 's3://bkt/m.manifest',
        manifest: true,
        iamRole: ROLE,
        format: { type: 'parquet' },
        extraOptions: ['ACCEPTINVCHARS', "ACCEPTINVCHARS AS '?'"],
      }),
    ).toBe(
      `COPY "s"."t"\nFROM 's3://bkt/m.manifest'\nIAM_ROLE '${ROLE}'\nMANIFEST\nFORMAT AS PARQUET\nACCEPTINVCHARS\nACCEPTINVCHARS AS '?'`,
    );
    expect(
      renderCopy({
        table: 't',
        from: 's3://bkt/k',
        iamRole: 'default',
        format: { type: 'avro', paths: 's3://bkt/paths.json' },
      }),
    ).toContain("FORMAT AS AVRO 's3://bkt/paths.json'");
  });

  it('replaces with DELETE + COPY, and upserts through a staging table, in one transaction', () => {
    expect(renderCopyLoad(copy, { type: 'replace' }, 'stage')[0]).toBe('DELETE FROM "analytics"."events"');
    const upsert = renderCopyLoad(
      { ...copy, format: { type: 'parquet' }, compression: undefined },
      { type: 'upsert', keys: ['event_id', 'day'] },
      'runway_stage_load_events',
    );
    expect(upsert).toEqual([
      'CREATE TEMP TABLE "runway_stage_load_events" (LIKE "analytics"."events")',
      expect.stringMatching(/^COPY "runway_stage_load_events"\nFROM 's3:\/\/lake-raw\/events\/dt=2026-03-01\/'/),
      'DELETE FROM "analytics"."events" USING "runway_stage_load_events" WHERE "analytics"."events"."event_id" = "runway_stage_load_events"."event_id" AND "analytics"."events"."day" = "runway_stage_load_events"."day"',
      'INSERT INTO "analytics"."events" SELECT * FROM "runway_stage_load_events"',
      'DROP TABLE "runway_stage_load_events"',
    ]);
  });
});

describe('COPY extraOptions: an allowlist of data conversion and load options', () => {
  it.each([
    ['SSH', 'SSH'],
    ['IAM_ROLE', "IAM_ROLE 'arn:aws:iam::999999999999:role/someone-else'"],
    ['IAM_ROLE', 'IAM_ROLE default'],
    ['ACCESS_KEY_ID', "ACCESS_KEY_ID 'AKIAIOSFODNN7EXAMPLE'"],
    ['SECRET_ACCESS_KEY', "SECRET_ACCESS_KEY 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'"],
    ['SESSION_TOKEN', "SESSION_TOKEN 'token'"],
    ['CREDENTIALS', "CREDENTIALS 'aws_access_key_id=AKIA;aws_secret_access_key=x'"],
    ['WITH', "WITH CREDENTIALS 'aws_iam_role=arn:aws:iam::1:role/x'"],
    ['MASTER_SYMMETRIC_KEY', "MASTER_SYMMETRIC_KEY 'EXAMPLEMASTERKEYtkbjk/OpCwtYSx/M4/t7DMCDIK722'"],
    ['ENCRYPTED', 'ENCRYPTED'],
    ['READRATIO', 'READRATIO 50'],
    ['MANIFEST', 'MANIFEST'],
    ['REGION', "REGION 'us-east-1'"],
  ])('refuses the %s keyword, naming the field', (keyword, option) => {
    const render = () => renderCopy({ ...copy, extraOptions: ['ACCEPTINVCHARS', option] });
    expect(render).toThrow(SqlRenderError);
    expect(render).toThrow(new RegExp(`^extraOptions\\[1\\]: .* ${keyword} is not allowed in extraOptions \\(`));
  });

  it('refuses a keyword it does not know, and a value the keyword does not take', () => {
    expect(() => renderCopy({ ...copy, extraOptions: ['FROBNICATE'] })).toThrow(
      /^extraOptions\[0\]: "FROBNICATE" is not a COPY data conversion or load option extraOptions allows \(ACCEPTANYDATE, /,
    );
    for (const option of ['COMPUPDATE MAYBE', 'ENCODING LATIN1', 'FILLRECORD 3', 'MAXERROR lots', 'acceptinvchars']) {
      expect(() => renderCopy({ ...copy, extraOptions: [option] }), option).toThrow(/^extraOptions\[0\]: /);
    }
  });

  it('renders the data conversion and load options it allows, as written', () => {
    const options = [
      'ACCEPTANYDATE',
      "ACCEPTINVCHARS AS '?'",
      'COMPUPDATE OFF',
      'STATUPDATE ON',
      'ENCODING UTF16LE',
      'MAXERROR AS 10',
      'COMPROWS 100000',
      "NULL AS 'NULL'",
      "TIMEFORMAT 'auto'",
      'FILLRECORD',
      'IGNOREBLANKLINES',
    ];
    expect(
      renderCopy({ ...copy, extraOptions: options })
        .split('\n')
        .slice(-options.length),
    ).toEqual(options);
  });
});

/** Reads back the literal after `UNLOAD (`: what Redshift would see as the query. */
function unloadQueryOf(sql: string): string {
  const body = sql.slice('UNLOAD ('.length);
  expect(body[0]).toBe("'");
  let out = '';
  for (let i = 1; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') out += body[++i];
    else if (c === "'" && body[i + 1] === "'") out += body[++i];
    else if (c === "'") {
      expect(body.slice(i + 1).startsWith(')\nTO ')).toBe(true);
      return out;
    } else out += c;
  }
  throw new Error('unterminated literal');
}

describe('UNLOAD (golden)', () => {
  const unload: UnloadSpec = {
    query: 'select 1',
    to: 's3://lake-curated/daily/ds=2026-03-01/',
    iamRole: ROLE,
    format: 'parquet',
  };

  it('renders every option', () => {
    expect(
      renderUnload({
        ...unload,
        partitionBy: ['region'],
        maxFileSizeMb: 256,
        manifest: true,
        allowOverwrite: true,
        parallel: false,
        kmsKeyId: 'alias/lake',
      }),
    ).toBe(
      [
        "UNLOAD ('select 1')",
        "TO 's3://lake-curated/daily/ds=2026-03-01/'",
        `IAM_ROLE '${ROLE}'`,
        'FORMAT AS PARQUET',
        'PARTITION BY ("region")',
        'PARALLEL OFF',
        'MAXFILESIZE 256 MB',
        'MANIFEST',
        'ALLOWOVERWRITE',
        "KMS_KEY_ID 'alias/lake'",
        'ENCRYPTED',
      ].join('\n'),
    );
    expect(renderUnload({ ...unload, format: 'csv', header: true, compression: 'gzip' })).toContain(
      'FORMAT AS CSV\nHEADER\nGZIP',
    );
  });

  it.each([
    "select * from venue where venuestate='NV'",
    "select '' as empty, 'it''s' as quoted",
    'select $$dollar$$ as d, $tag$x$tag$',
    "select 'a\\b' as backslash, E'\\n' as esc",
    "select 1; drop table users; --'",
    "select '\u0027' || chr(39) /* comment */ -- trailing",
  ])('escapes any query text so that Redshift reads it back exactly: %s', (query) => {
    expect(unloadQueryOf(renderUnload({ ...unload, query }))).toBe(query);
  });
});

const HOSTILE = [
  'events; drop table users; --',
  "ev'ents",
  'ev"ents',
  '$$',
  'events\ndrop',
  'events/*x*/',
  'events--',
  'еvents', // Cyrillic е
  'ｅvents', // full-width e
  'events\0',
  "' OR 1=1 --",
  '',
];

/** The statement with every literal and quoted identifier blanked: its structure, which no value may change. */
const structure = (sql: string) => sql.replace(/'(?:[^'\\]|''|\\.)*'/g, "'…'").replace(/"[^"]*"/g, '"…"');

/** Each hostile value is rejected with an error naming the field, or stays inside a literal. */
function rejectedOrInert(field: string, render: (value: string) => string): void {
  const benign = structure(render('x'));
  for (const value of HOSTILE) {
    let sql: string;
    try {
      sql = render(value);
    } catch (error) {
      expect(error, JSON.stringify(value)).toBeInstanceOf(SqlRenderError);
      expect((error as Error).message.startsWith(`${field}: `), (error as Error).message).toBe(true);
      continue;
    }
    expect(structure(sql), `${field} = ${JSON.stringify(value)} changed the statement`).toBe(benign);
  }
}

describe('injection corpus: every field rejects a hostile value, naming the field, or renders it inert', () => {
  const copyFields: [string, (v: string) => CopySpec][] = [
    ['table', (v) => ({ ...copy, table: `t${v}` })],
    ['columns[0]', (v) => ({ ...copy, columns: [`c${v}`] })],
    ['from', (v) => ({ ...copy, from: `s3://bucket/${v}` })],
    ['iamRole', (v) => ({ ...copy, iamRole: `${ROLE}${v}` })],
    ['format.delimiter', (v) => ({ ...copy, format: { type: 'csv', delimiter: v === 'x' ? ',' : v } })],
    ['format.nullAs', (v) => ({ ...copy, format: { type: 'csv', nullAs: v } })],
    ['format.paths', (v) => ({ ...copy, format: { type: 'json', paths: `s3://bkt/${v}` } })],
    ['dateFormat', (v) => ({ ...copy, dateFormat: v })],
    ['region', (v) => ({ ...copy, region: v === 'x' ? 'eu-west-1' : `eu-west-1${v}` })],
    ['extraOptions[0]', (v) => ({ ...copy, extraOptions: [v === 'x' ? 'ACCEPTINVCHARS' : `ACCEPTINVCHARS ${v}`] })],
  ];
  for (const [field, make] of copyFields) {
    it(`COPY ${field}`, () => rejectedOrInert(field, (v) => renderCopy(make(v))));
  }

  it('upsert keys', () => {
    rejectedOrInert('mode.keys[0]', (v) =>
      renderCopyLoad(copy, { type: 'upsert', keys: [`k${v}`] }, 'stage').join(';\n'),
    );
  });

  const unload: UnloadSpec = { query: 'select 1', to: 's3://bkt/p/', iamRole: ROLE, format: 'parquet' };
  it.each([
    ['query', (v: string) => renderUnload({ ...unload, query: `select ${v}` })],
    ['to', (v: string) => renderUnload({ ...unload, to: `s3://bkt/${v}` })],
    ['partitionBy[0]', (v: string) => renderUnload({ ...unload, partitionBy: [`p${v}`] })],
    ['kmsKeyId', (v: string) => renderUnload({ ...unload, kmsKeyId: `k${v}` })],
  ])('UNLOAD %s', (field, render) => rejectedOrInert(field, render));
});
