/**
 * SQL rendering for Redshift: identifiers, literals and the values COPY and UNLOAD take. Pure.
 * Anything that is not plainly what the field expects is rejected with an error naming the field,
 * so an option can never carry SQL of its own into a statement.
 */

export class SqlRenderError extends Error {
  override readonly name = 'SqlRenderError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** Redshift's standard identifiers, ASCII only: look-alike letters from other scripts are rejected. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,126}$/;

/** `"name"`, after checking it is a plain identifier. */
export function identifier(value: string, field: string): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new SqlRenderError(
      field,
      `${JSON.stringify(value)} is not a plain identifier (letters, digits, "_" and "$", starting with a letter or "_", at most 127)`,
    );
  }
  return `"${value}"`;
}

/** `"schema"."table"` or `"table"`. */
export function tableName(value: string, field: string): string {
  const parts = typeof value === 'string' ? value.split('.') : [];
  if (parts.length < 1 || parts.length > 2) {
    throw new SqlRenderError(field, `${JSON.stringify(value)} must be "table" or "schema.table"`);
  }
  return parts.map((part) => identifier(part, field)).join('.');
}

/** A string literal: quotes and backslashes doubled, as Redshift's QUOTE_LITERAL does. */
export function literal(value: string, field: string): string {
  if (typeof value !== 'string') throw new SqlRenderError(field, 'must be a string');
  if (value.includes('\0')) throw new SqlRenderError(field, 'must not contain a NUL character');
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

const IAM_ROLE = /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/;

/** An IAM role ARN, or `default` for the cluster's default role. */
export function iamRole(value: string, field = 'iamRole'): string {
  if (value === 'default') return 'default';
  if (typeof value !== 'string' || !IAM_ROLE.test(value)) {
    throw new SqlRenderError(
      field,
      `${JSON.stringify(value)} is not an IAM role ARN (arn:aws:iam::123456789012:role/name) or "default"`,
    );
  }
  return literal(value, field);
}

const S3_URI = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9!\-_.*()/=+,@ &$:;~%]*)?$/;

/** An `s3://bucket/key` URI with no quotes, backslashes or control characters. */
export function s3Uri(value: string, field: string): string {
  if (typeof value !== 'string' || !S3_URI.test(value)) {
    throw new SqlRenderError(field, `${JSON.stringify(value)} is not an s3://bucket/key URI of safe characters`);
  }
  return literal(value, field);
}

/** A single character, as a literal (CSV delimiter, quote). */
export function singleCharacter(value: string, field: string): string {
  if (typeof value !== 'string' || [...value].length !== 1 || /[\0\r\n]/.test(value)) {
    throw new SqlRenderError(field, `${JSON.stringify(value)} must be exactly one character`);
  }
  return literal(value, field);
}

/** A short keyword-free text option (date format, null marker, region). */
export function shortText(value: string, field: string, pattern = /^[A-Za-z0-9 _:.\-/\\|]{1,64}$/): string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new SqlRenderError(field, `${JSON.stringify(value)} is not allowed here`);
  }
  return literal(value, field);
}

export function wholeNumber(value: number, field: string, min = 0, max = 2_147_483_647): string {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SqlRenderError(field, `${String(value)} must be a whole number from ${min} to ${max}`);
  }
  return String(value);
}
