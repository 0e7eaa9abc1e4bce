import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { hasAwsCredentials } from '../runner/cli/standalone.ts';

it('finds AWS credentials in the environment or ~/.aws, and none on a bare machine', async () => {
  const home = await mkdtemp(join(tmpdir(), 'runway-home-'));
  expect(hasAwsCredentials({}, home)).toBe(false);
  expect(hasAwsCredentials({ AWS_PROFILE: 'data' }, home)).toBe(true);
  expect(hasAwsCredentials({ AWS_ACCESS_KEY_ID: 'AKIA' }, home)).toBe(true);
  await mkdir(join(home, '.aws'));
  await writeFile(join(home, '.aws', 'credentials'), '[default]\n');
  expect(hasAwsCredentials({}, home)).toBe(true);
});
