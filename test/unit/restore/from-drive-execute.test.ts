import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import type { DockerAdapter } from '../../../src/adapters/docker.js';
import type { ProcessGateway } from '../../../src/adapters/process.js';
import type { KitImage, KitManifest } from '../../../src/restore-kit/kit-manifest.js';
import { executeFromDrive } from '../../../src/restore/from-drive-execute.js';
import type { FromDrivePlan } from '../../../src/restore/from-drive-plan.js';

const log = pino({ level: 'silent' });
let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'from-drive-execute-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const image: KitImage = {
  reference: 'ghcr.io/immich-app/postgres:14',
  id: `sha256:${'b'.repeat(64)}`,
  repoDigests: [`ghcr.io/immich-app/postgres@sha256:${'f'.repeat(64)}`],
  saved: null,
};

function plan(appDir: string, saved: string | null): FromDrivePlan {
  return {
    backupDir: path.join(root, 'drive'),
    kitDir: path.join(root, 'drive', 'restore-kit'),
    kit: {
      immich: {
        databaseContainer: 'immich_postgres',
        serverContainer: 'immich_server',
        database: 'immich',
        databaseUser: 'postgres',
        uploadMounts: ['/data'],
      },
    } as KitManifest,
    appDir,
    library: path.join(root, 'library'),
    dbDataDir: path.join(appDir, 'postgres'),
    composeName: 'docker-compose.yml',
    composeText: 'services: {}\n',
    envText: "DB_PASSWORD=pw\nUPLOAD_LOCATION='/l'\n",
    env: new Map([['DB_PASSWORD', 'pw']]),
    databaseService: 'database',
    images: [{ role: 'database', image: { ...image, saved }, source: saved ? 'drive' : 'missing' }],
  } as unknown as FromDrivePlan;
}

const noImages = { imageInfo: () => Promise.resolve(null) } as unknown as DockerAdapter;
const noCompose: ProcessGateway = {
  run: () => Promise.resolve({ exitCode: 127, stdout: '', stderr: 'not found', durationMs: 1 }),
  hold: () => {
    throw new Error('not used');
  },
};

describe('restore --from-drive: execution stops where it fails, and says what is next', () => {
  test('an image neither here nor on the drive: IMAGE_MISSING naming what to pull, nothing written', async () => {
    const appDir = path.join(root, 'app-1');
    const summary = await executeFromDrive(plan(appDir, null), {
      docker: noImages,
      gateway: noCompose,
      log,
    });
    assert.equal(summary.ok, false);
    assert.deepEqual(summary.done, []);
    assert.match(
      summary.failure?.message ?? '',
      /ghcr\.io\/immich-app\/postgres:14 .* is not here/,
    );
    assert.match(
      summary.failure?.message ?? '',
      new RegExp(`docker pull ghcr\\.io/immich-app/postgres@sha256:${'f'.repeat(64)}`),
    );
    await assert.rejects(stat(appDir));
  });

  test('a saved image is loaded from the kit; no compose: TOOL_MISSING after the app dir is written', async () => {
    const appDir = path.join(root, 'app-2');
    const loaded: string[] = [];
    const summary = await executeFromDrive(plan(appDir, `images/${'b'.repeat(64)}.tar.gz`), {
      docker: noImages,
      gateway: noCompose,
      log,
      loadKitImage: (_docker, kitDir, kitImage) => {
        loaded.push(`${kitDir}:${kitImage.saved ?? ''}`);
        return Promise.resolve();
      },
    });
    assert.deepEqual(loaded, [
      `${path.join(root, 'drive', 'restore-kit')}:images/${'b'.repeat(64)}.tar.gz`,
    ]);
    assert.equal(summary.ok, false);
    assert.match(summary.done[0] ?? '', /Loaded the database image .* from the drive/);
    assert.match(summary.done[1] ?? '', /Wrote docker-compose\.yml and \.env/);
    assert.match(summary.failure?.message ?? '', /Neither `docker compose` nor `docker-compose`/);
    assert.match(summary.failure?.next ?? '', /new, empty --app-dir/);
    assert.deepEqual((await readdir(appDir)).sort(), ['.env', 'docker-compose.yml', 'postgres']);
    assert.equal((await stat(path.join(appDir, '.env'))).mode & 0o777, 0o600);
    assert.equal(
      await readFile(path.join(appDir, '.env'), 'utf8'),
      "DB_PASSWORD=pw\nUPLOAD_LOCATION='/l'\n",
    );
  });
});
