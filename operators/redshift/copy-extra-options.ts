/**
 * The COPY options `extraOptions` may add: an allowlist of Redshift's data conversion and data load
 * parameters, each with the values it takes. Pure.
 *
 * Authorization and data-source keywords are refused by name: `IAM_ROLE`, `ACCESS_KEY_ID`,
 * `SECRET_ACCESS_KEY`, `SESSION_TOKEN` and `CREDENTIALS` would load with other credentials than the
 * task's `iamRole`; `SSH` turns `from` into a manifest of hosts and commands for Redshift to run;
 * `MASTER_SYMMETRIC_KEY`/`ENCRYPTED` (client-side encryption) and `READRATIO` (DynamoDB) belong to
 * sources Runway does not load from. Runway writes the authorization and the source itself.
 * See https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-authorization.html.
 */
import { SqlRenderError } from './sql.ts';

/** A quoted value of characters that cannot end the literal or start a comment. */
const QUOTED = String.raw`'[A-Za-z0-9 _:.\-/|?]{0,64}'`;
const NUMBER = '[0-9]{1,10}';

/** Keyword -> what may follow it (the whole rest of the option, with its leading space). */
const ALLOWED: Readonly<Record<string, RegExp>> = {
  // Data conversion parameters.
  ACCEPTANYDATE: /^$/,
  ACCEPTINVCHARS: /^( (AS )?'[A-Za-z0-9 _:.\-/|?]')?$/,
  BLANKSASNULL: /^$/,
  DATEFORMAT: new RegExp(`^ (AS )?${QUOTED}$`),
  EMPTYASNULL: /^$/,
  ENCODING: /^ (AS )?(UTF8|UTF16|UTF16LE|UTF16BE)$/,
  ESCAPE: /^$/,
  EXPLICIT_IDS: /^$/,
  FILLRECORD: /^$/,
  IGNOREBLANKLINES: /^$/,
  IGNOREHEADER: new RegExp(`^ (AS )?${NUMBER}$`),
  NULL: new RegExp(`^ AS ${QUOTED}$`),
  REMOVEQUOTES: /^$/,
  ROUNDEC: /^$/,
  SERIALIZETOJSON: /^$/,
  TIMEFORMAT: new RegExp(`^ (AS )?${QUOTED}$`),
  TRIMBLANKS: /^$/,
  TRUNCATECOLUMNS: /^$/,
  // Data load operations.
  COMPROWS: new RegExp(`^ ${NUMBER}$`),
  COMPUPDATE: /^( (ON|TRUE|OFF|FALSE|PRESET))?$/,
  IGNOREALLERRORS: /^$/,
  MAXERROR: new RegExp(`^ (AS )?${NUMBER}$`),
  NOLOAD: /^$/,
  STATUPDATE: /^( (ON|TRUE|OFF|FALSE))?$/,
};

/** Keywords refused with the reason, because they change who loads or from where. */
const REFUSED: Readonly<Record<string, string>> = {
  IAM_ROLE: 'authorization is the task\'s "iamRole" option',
  ACCESS_KEY_ID: 'access keys are never written into SQL; use "iamRole"',
  SECRET_ACCESS_KEY: 'access keys are never written into SQL; use "iamRole"',
  SESSION_TOKEN: 'access keys are never written into SQL; use "iamRole"',
  CREDENTIALS: 'access keys are never written into SQL; use "iamRole"',
  WITH: 'WITH CREDENTIALS is an access key; use "iamRole"',
  SSH: 'SSH makes Redshift run commands on the hosts a manifest names; Runway loads from S3 only',
  MASTER_SYMMETRIC_KEY: 'client-side encryption keys are never written into SQL',
  ENCRYPTED: 'client-side encryption needs a key in the SQL; use server-side encryption',
  READRATIO: 'DynamoDB sources are not supported; Runway loads from S3 only',
  MANIFEST: 'use the "manifest" option',
  REGION: 'use the "region" option',
};

/** The option as written, after checking its keyword is allowed and its value fits that keyword. */
export function copyExtraOption(option: unknown, field: string): string {
  if (typeof option !== 'string') throw new SqlRenderError(field, 'must be a string');
  const keyword = /^[A-Z_]+/.exec(option)?.[0] ?? '';
  const refused = REFUSED[keyword];
  if (refused !== undefined) {
    throw new SqlRenderError(
      field,
      `${JSON.stringify(option)}: ${keyword} is not allowed in extraOptions (${refused})`,
    );
  }
  const value = Object.hasOwn(ALLOWED, keyword) ? ALLOWED[keyword] : undefined;
  if (value === undefined) {
    throw new SqlRenderError(
      field,
      `${JSON.stringify(option)} is not a COPY data conversion or load option extraOptions allows (${Object.keys(ALLOWED).join(', ')})`,
    );
  }
  if (!value.test(option.slice(keyword.length))) {
    throw new SqlRenderError(
      field,
      `${JSON.stringify(option)} is not ${keyword} with a value it takes (a number, a short quoted value or a keyword, as the COPY reference gives)`,
    );
  }
  return option;
}
