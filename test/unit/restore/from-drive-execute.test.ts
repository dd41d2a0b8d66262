import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink } from 'node:fs/promises';
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

function plan(appDir: string, saved: string | null, source?: 'here'): FromDrivePlan {
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
    serverService: null,
    flavour: 'v2',
    unpinned: [],
    services: [
      { name: 'database', containerName: 'immich_postgres', image: image.reference, volumes: [] },
    ],
    images: [
      {
        role: 'database',
        image: { ...image, saved },
        source: source ?? (saved ? 'drive' : 'missing'),
      },
    ],
  } as unknown as FromDrivePlan;
}

const noImages = { imageInfo: () => Promise.resolve(null) } as unknown as DockerAdapter;

describe('restore --from-drive: execution stops where it fails, and says what is next', () => {
  test('an image neither here nor on the drive: IMAGE_MISSING naming what to pull, nothing written', async () => {
    const appDir = path.join(root, 'app-1');
    const summary = await executeFromDrive(plan(appDir, null), {
      docker: noImages,
      gateway: composeFails([]),
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
      new RegExp(`docker pull 'ghcr\\.io/immich-app/postgres@sha256:${'f'.repeat(64)}'`),
    );
    await assert.rejects(stat(appDir));
  });

  test('a saved image is loaded; the app folder written with its modes; a compose failure says how to take it down', async () => {
    const appDir = path.join(root, 'app-2');
    const loaded: string[] = [];
    const ran: string[][] = [];
    const summary = await executeFromDrive(plan(appDir, `images/${'b'.repeat(64)}.tar.gz`), {
      // The kit's id is not here until loaded; the compose file's reference then is it.
      docker: kitImageBy(image.reference),
      gateway: composeFails(ran),
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
    assert.deepEqual(ran, [
      [
        'compose',
        '--project-directory',
        appDir,
        '-f',
        `${appDir}/docker-compose.yml`,
        'config',
        '--format',
        'json',
      ],
      [
        'compose',
        '--project-directory',
        appDir,
        '-f',
        `${appDir}/docker-compose.yml`,
        'up',
        '-d',
        '--no-deps',
        'database',
      ],
    ]);
    assert.match(summary.failure?.message ?? '', /Starting database with compose failed/);
    assert.match(summary.failure?.next ?? '', /docker compose down in /);
    assert.deepEqual((await readdir(appDir)).sort(), ['.env', 'docker-compose.yml', 'postgres']);
    assert.equal((await stat(path.join(appDir, '.env'))).mode & 0o777, 0o600);
    assert.equal((await stat(path.join(appDir, 'postgres'))).mode & 0o777, 0o700);
    assert.equal(
      await readFile(path.join(appDir, '.env'), 'utf8'),
      "DB_PASSWORD=pw\nUPLOAD_LOCATION='/l'\n",
      'the .env the plan made, as it is',
    );
  });

  test('an image here by id is pointed at by the kit reference; a tag compose uses elsewhere is refused before anything starts', async () => {
    const appDir = path.join(root, 'app-3');
    const loaded: string[] = [];
    const ran: string[][] = [];
    const summary = await executeFromDrive(plan(appDir, null, 'here'), {
      docker: {
        imageInfo: (reference: string) =>
          Promise.resolve(
            reference === image.id
              ? { id: image.id }
              : { id: `sha256:${'9'.repeat(64)}` /* what the tag points at: the newest */ },
          ),
      } as unknown as DockerAdapter,
      gateway: composeFails(ran),
      log,
      loadKitImage: (_docker, _kitDir, kitImage) => {
        loaded.push(kitImage.reference);
        return Promise.resolve();
      },
    });
    assert.deepEqual(loaded, [image.reference]);
    assert.equal(summary.ok, false);
    assert.match(
      summary.failure?.message ?? '',
      /would run the database service database from ghcr\.io\/immich-app\/postgres:14, which is the image sha256:9+, not the kit's/,
    );
    assert.deepEqual(ran, []);
  });

  test('an app folder swapped for a link since the plan: nothing written through it', async () => {
    const appDir = path.join(root, 'app-4');
    const elsewhere = path.join(root, 'elsewhere');
    await mkdir(elsewhere);
    await symlink(elsewhere, appDir);
    const summary = await executeFromDrive(plan(appDir, `images/${'b'.repeat(64)}.tar.gz`), {
      docker: kitImageBy(image.reference),
      gateway: composeFails([]),
      log,
      loadKitImage: () => Promise.resolve(),
    });
    assert.equal(summary.ok, false);
    assert.match(summary.failure?.message ?? '', /reached through a link/);
    assert.deepEqual(await readdir(elsewhere), []);
  });
});

/** An engine where the kit's id is found only by `reference` (as after `docker load` + tag). */
function kitImageBy(reference: string): DockerAdapter {
  return {
    imageInfo: (asked: string) => Promise.resolve(asked === reference ? { id: image.id } : null),
  } as unknown as DockerAdapter;
}

/** Compose is there (the plan found it); `up` fails. The args of every run are kept. */
function composeFails(ran: string[][]): ProcessGateway {
  return {
    run: (request: { args: string[] }) => {
      ran.push(request.args);
      // `config`: compose's model is the plan's (its own check is tested in compose-config).
      if (request.args.includes('config')) {
        const services = {
          database: { container_name: 'immich_postgres', image: image.reference, volumes: [] },
        };
        return Promise.resolve({ exitCode: 0, stdout: JSON.stringify({ services }), stderr: '' });
      }
      return Promise.resolve({ exitCode: 1, stdout: '', stderr: 'no such image', durationMs: 1 });
    },
    hold: () => {
      throw new Error('not used');
    },
  } as unknown as ProcessGateway;
}
