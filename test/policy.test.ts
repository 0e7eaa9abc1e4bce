import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPolicy, DEFAULT_POLICY, policySchema } from '../runner/core/policy.ts';
import { loadPolicy } from '../runner/loader/load-policy.ts';
import { summary, task } from './helpers/summary.ts';

const shipped = await loadPolicy('runway.policy.json', { required: true });

async function policyFile(contents: string): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'runway-policy-')), 'runway.policy.json');
  await writeFile(path, contents);
  return path;
}

describe('checkPolicy', () => {
  it('passes a DAG that meets every rule', () => {
    expect(checkPolicy(summary(), shipped)).toEqual([]);
  });

  it('checks retries on the DAG defaults and on every task override', () => {
    const s = summary({
      defaultArgs: { retries: 4 },
      tasks: [task('a', [], { args: { retries: 3 } }), task('b', ['a'], { args: { retries: 9 } })],
    });
    expect(checkPolicy(s, shipped)).toEqual([
      { dagId: 'data_lake__unit', rule: 'retries', message: 'defaultArgs.retries is 4; the policy allows at most 3' },
      { dagId: 'data_lake__unit', rule: 'retries', message: 'retries is 9; the policy allows at most 3', taskId: 'b' },
    ]);
  });

  it('allows any tag when the allowed list is empty, but still requires one', () => {
    expect(checkPolicy(summary({ tags: ['anything'] }), DEFAULT_POLICY)).toEqual([]);
    expect(checkPolicy(summary({ tags: [] }), DEFAULT_POLICY).map((p) => p.rule)).toEqual(['tags']);
  });

  it('matches owner placeholders whatever their case', () => {
    expect(checkPolicy(summary({ owner: 'AirFlow' }), shipped).map((p) => p.message)).toEqual([
      'owner "AirFlow" is a placeholder; name the team or person who answers for this DAG',
    ]);
  });

  it('lets each rule be tuned or turned off', () => {
    const relaxed = policySchema.parse({
      rules: {
        tags: { enabled: false },
        description: { minLength: 3 },
        owner: { enabled: false },
        noEmailNotifications: { enabled: false },
        retries: { max: 10 },
        dagId: { separator: '', allowedPrefixes: ['legacy_'] },
      },
    });
    const s = summary({
      dagId: 'legacy_orders',
      tags: [],
      description: 'Old',
      owner: 'me',
      notifications: [{ type: 'email', to: ['a@example.com'], on: ['failure'] }],
      defaultArgs: { retries: 8 },
    });
    expect(checkPolicy(s, relaxed)).toEqual([]);
    expect(checkPolicy(s, shipped).map((p) => p.rule)).toEqual([
      'tags',
      'description',
      'owner',
      'no-email-notifications',
      'retries',
      'dag-id',
      'dag-id',
    ]);
  });
});

describe('loadPolicy', () => {
  it('uses the built-in defaults when the default file is absent, but not a named one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'runway-policy-'));
    await expect(loadPolicy(join(dir, 'runway.policy.json'))).resolves.toEqual(DEFAULT_POLICY);
    await expect(loadPolicy(join(dir, 'team.json'), { required: true })).rejects.toThrow(/team\.json: cannot read/);
  });

  it('names the file and the field that is wrong', async () => {
    const typo = await policyFile('{ "rules": { "retries": { "maximum": 3 } } }');
    await expect(loadPolicy(typo)).rejects.toThrow(`${typo}: field "rules.retries": Unrecognized key: "maximum"`);
    const wrongType = await policyFile('{ "rules": { "description": { "minLength": "long" } } }');
    await expect(loadPolicy(wrongType)).rejects.toThrow(
      /field "rules\.description\.minLength": Invalid input: expected number, received string/,
    );
    const notJson = await policyFile('{ rules: }');
    await expect(loadPolicy(notJson)).rejects.toThrow(`${notJson}: not valid JSON`);
  });
});
