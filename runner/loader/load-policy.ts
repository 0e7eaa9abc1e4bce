/** Reads the team policy file; the rules themselves are pure and live in core/policy.ts. */
import { readFile } from 'node:fs/promises';
import { describeIssues } from '../core/dag-options.ts';
import { DEFAULT_POLICY, policySchema, type Policy } from '../core/policy.ts';
import { DEFAULT_POLICY_FILE } from './policy-file.ts';

export class PolicyFileError extends Error {
  override readonly name = 'PolicyFileError';
}

/** Reads and validates a policy file; a missing default file means the built-in defaults. */
export async function loadPolicy(path: string = DEFAULT_POLICY_FILE, { required = false } = {}): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !required) return DEFAULT_POLICY;
    throw new PolicyFileError(`${path}: cannot read the policy file: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PolicyFileError(`${path}: not valid JSON: ${(error as Error).message}`);
  }
  const parsed = policySchema.safeParse(json);
  if (!parsed.success) throw new PolicyFileError(`${path}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
