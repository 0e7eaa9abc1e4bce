/** The deployment manifest: parsed with errors that name the place and field, and diffed by hash. */
import { describe, expect, it } from 'vitest';
import { diffManifests, parseManifest, type DeployManifest } from '../runner/deploy/manifest.ts';

describe('the manifest', () => {
  const entry = { dagId: 'a', source: 'dags/a.ts', bundle: 'bundles/a.1.mjs', sha256: 'f'.repeat(64) };
  const valid: DeployManifest = {
    format: 1,
    runwayVersion: '0.1.0',
    commit: null,
    deployedAt: '2026-11-22T00:00:00Z',
    dags: [entry],
  };

  it('is read back as written', () => {
    expect(parseManifest(JSON.stringify(valid), 's3://b/manifest.json')).toEqual(valid);
  });

  it.each([
    ['not JSON', '{', /^s3:\/\/b\/manifest\.json: not JSON/],
    [
      'a bad hash',
      JSON.stringify({ ...valid, dags: [{ ...entry, sha256: 'xyz' }] }),
      /: dags\.0\.sha256: must be 64 lowercase hex/,
    ],
    [
      'a bundle outside bundles/',
      JSON.stringify({ ...valid, dags: [{ ...entry, bundle: '../x.mjs' }] }),
      /dags\.0\.bundle: must be bundles/,
    ],
    ['a DAG twice', JSON.stringify({ ...valid, dags: [entry, entry] }), /DAG "a" is listed twice/],
    ['an unknown format', JSON.stringify({ ...valid, format: 2 }), /format: /],
  ])('rejects %s, naming where and which field', (_name, text, message) => {
    expect(() => parseManifest(text, 's3://b/manifest.json')).toThrow(message);
  });

  it('diffs by DAG id and hash', () => {
    const next = {
      ...valid,
      dags: [
        { ...entry, sha256: 'e'.repeat(64) },
        { ...entry, dagId: 'b' },
      ],
    };
    expect(diffManifests(valid, next)).toEqual({ added: ['b'], changed: ['a'], removed: [], unchanged: [] });
    expect(diffManifests(undefined, valid)).toEqual({ added: ['a'], changed: [], removed: [], unchanged: [] });
  });
});
