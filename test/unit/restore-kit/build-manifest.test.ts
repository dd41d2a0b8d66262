import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildKitManifest, postgresMajor } from '../../../src/restore-kit/build-manifest.js';
import { manifestText, parseKitManifest } from '../../../src/restore-kit/kit-manifest.js';

const id = `sha256:${'ab'.repeat(32)}`;
const base = {
  agentVersion: '0.11.0',
  agentSha256: 'cd'.repeat(32),
  envImmichVersion: 'v2.7.5',
  serverContainer: 'immich_server',
  databaseContainer: 'immich_postgres',
  database: 'immich',
  databaseUser: 'postgres',
  env: { uploadLocation: null, dbDataLocation: null },
  uploadMounts: ['/data'],
  postgresServerVersion: '14.10',
  server: { reference: 'example/stand-in:latest', id, repoDigests: [] },
  databaseImage: null,
  savedIds: new Set([id]),
  composeFileName: 'compose.yaml',
};

describe('the kit manifest from what the run found', () => {
  test('a server image that is not Immich’s takes the version from .env, and a saved image names its file', () => {
    const manifest = buildKitManifest(base);
    assert.equal(manifest.immich.version, 'v2.7.5');
    assert.equal(manifest.images.server?.saved, `images/${'ab'.repeat(32)}.tar.gz`);
    assert.equal(manifest.images.database, null);
    assert.equal(manifest.postgres.major, 14);
    assert.deepEqual(parseKitManifest(manifestText(manifest)), manifest);
  });

  test('a value that does not fit the schema throws instead of writing a manifest', () => {
    assert.throws(() => buildKitManifest({ ...base, composeFileName: 'a b.yml' }));
  });

  for (const [version, major] of [
    ['17.2 (Debian 17.2-1.pgdg120+1)', 17],
    ['9.6.24', 9],
    ['8.4', null],
    [null, null],
    ['devel', null],
  ] as const) {
    test(`postgres ${String(version)} is major ${String(major)}`, () => {
      assert.equal(postgresMajor(version), major);
    });
  }
});
