import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import type { DockerAdapter } from '../../../src/adapters/docker.js';
import { isAgentError, type ErrorCode } from '../../../src/errors.js';
import { manifestText, type KitManifest } from '../../../src/restore-kit/kit-manifest.js';
import { findBackupDir, planFromDrive } from '../../../src/restore/from-drive-plan.js';

const hex = (digit: string): string => digit.repeat(64);
const log = pino({ level: 'silent' });
let root: string;
let backupDir: string;
let kitAgent: string;

function kit(overrides: Partial<KitManifest['immich']> = {}): KitManifest {
  const image = (name: string, digit: string, saved: boolean) => ({
    reference: `ghcr.io/immich-app/${name}`,
    id: `sha256:${hex(digit)}`,
    repoDigests: [`ghcr.io/immich-app/${name.split(':')[0]}@sha256:${hex('f')}`],
    saved: saved ? `images/${hex(digit)}.tar.gz` : null,
  });
  return {
    kitVersion: 1,
    agent: { version: '1.0.0', file: 'immich-backup-agent.mjs', sha256: hex('0') },
    immich: {
      version: 'v2.7.5',
      serverContainer: 'immich_server',
      databaseContainer: 'immich_postgres',
      database: 'immich',
      databaseUser: 'postgres',
      uploadLocation: './library',
      dbDataLocation: './postgres',
      uploadMounts: ['/data'],
      ...overrides,
    },
    postgres: { serverVersion: '14.10', major: 14 },
    images: {
      server: image('immich-server:v2.7.5', 'a', true),
      database: image('postgres:14', 'b', false),
    },
    layout: {
      files: 'files',
      versions: 'versions',
      compose: 'docker-compose.yml',
      env: '.env',
      dumps: 'immich-db-YYYY-MM-DD.sql.gz',
    },
  };
}

const dumpSql = `--
-- PostgreSQL database dump
--
CREATE TABLE public.asset (id text);
CREATE TABLE public."user" (id text);
COPY public.asset (id) FROM stdin;
a1
\\.
--
-- PostgreSQL database dump complete
--
`;

async function writeBackup(folder: string, sidecarImmich = 'v2.7.5'): Promise<void> {
  await mkdir(path.join(folder, 'restore-kit', 'images'), { recursive: true });
  await mkdir(path.join(folder, 'files'), { recursive: true });
  await writeFile(path.join(folder, 'restore-kit', 'restore-kit.json'), manifestText(kit()));
  await writeFile(path.join(folder, 'restore-kit', 'immich-backup-agent.mjs'), '// agent\n');
  await writeFile(path.join(folder, 'restore-kit', 'images', `${hex('a')}.tar.gz`), 'x');
  await writeFile(
    path.join(folder, 'docker-compose.yml'),
    'name: immich\nservices:\n  database:\n    container_name: ${DB_CONTAINER:-immich_postgres}\n    image: postgres\n',
  );
  await writeFile(path.join(folder, '.env'), 'UPLOAD_LOCATION=./library\nDB_PASSWORD=pw\n');
  const dump = gzipSync(dumpSql);
  await writeFile(path.join(folder, 'immich-db-2026-12-01.sql.gz'), dump);
  await writeFile(
    path.join(folder, 'immich-db-2026-12-01.json'),
    JSON.stringify({
      dump: 'immich-db-2026-12-01.sql.gz',
      format: 'pg_dump',
      database: 'immich',
      user: 'postgres',
      bytes: dump.length,
      sha256: hex('c'),
      createdAt: '2026-12-01T03:00:00.000Z',
      immich: { envVersion: sidecarImmich, serverImage: null, serverImageTag: null },
      postgres: { serverVersion: '14.10', image: null },
      verified: true,
      runId: 'r1',
      agentVersion: '1.0.0',
    }),
  );
}

const docker = {
  imageInfo: (reference: string) =>
    Promise.resolve(
      reference === `sha256:${hex('b')}` ? { id: reference, repoTags: [], repoDigests: [] } : null,
    ),
} as unknown as DockerAdapter;

async function refusedWith(code: ErrorCode, work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    assert.ok(isAgentError(error, code), String(error));
    return error.longMessage;
  }
  assert.fail(`not refused (${code} expected)`);
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'from-drive plan $(touch x) ü '));
  backupDir = path.join(root, 'drive', 'immich-backup');
  await writeBackup(backupDir);
  kitAgent = path.join(backupDir, 'restore-kit', 'immich-backup-agent.mjs');
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const plan = (
  options: { appDir?: string; library?: string; backupDir?: string; scriptPath?: string } = {},
) =>
  planFromDrive(
    {
      appDir: options.appDir ?? path.join(root, 'new', 'app'),
      library: options.library ?? path.join(root, 'new', 'library'),
      backupDir: options.backupDir,
      scriptPath: options.scriptPath ?? kitAgent,
    },
    { docker, log },
  );

describe('restore --from-drive: the plan', () => {
  test('the backup folder is the one holding the kit the agent runs from (its real path)', async () => {
    const link = path.join(root, 'agent-link.mjs');
    await symlink(kitAgent, link);
    assert.equal(await findBackupDir(link), backupDir);
    assert.equal(await findBackupDir('/anywhere/agent.mjs', 'rel/dir'), path.resolve('rel/dir'));
    await refusedWith('NO_BACKUP', findBackupDir(path.join(root, 'agent.mjs')));
  });

  test('reads the kit, the dump and the compose file, and changes nothing', async () => {
    const result = await plan();
    assert.equal(result.backupDir, backupDir);
    assert.equal(result.dump.name, 'immich-db-2026-12-01.sql.gz');
    assert.equal(result.format, 'pg_dump');
    assert.equal(result.databaseService, 'database');
    assert.equal(result.env.get('UPLOAD_LOCATION'), path.join(root, 'new', 'library'));
    assert.equal(result.env.get('DB_DATA_LOCATION'), path.join(root, 'new', 'app', 'postgres'));
    assert.equal(result.env.get('DB_PASSWORD'), 'pw');
    assert.deepEqual(
      result.images.map((image) => [image.role, image.source]),
      [
        ['database', 'here'],
        ['server', 'drive'],
      ],
    );
    // The compose file's image is not here by its reference: compose would pull it.
    assert.deepEqual(result.toPull, ['postgres']);
    await refusedWith('NO_BACKUP', findBackupDir(path.join(root, 'new', 'x')));
  });

  test('never over an installation: an app dir with .env or a compose file is refused', async () => {
    for (const name of ['.env', 'compose.yaml']) {
      const appDir = path.join(root, `installed-${name}`);
      await mkdir(appDir, { recursive: true });
      await writeFile(path.join(appDir, name), 'x');
      const message = await refusedWith('RESTORE_FAILED', plan({ appDir }));
      assert.match(message, /never writes over an installation/);
    }
  });

  test('a library in a system folder, or on the drive, is refused', async () => {
    await refusedWith('CONFIG_INVALID', plan({ library: '/etc/immich' }));
    await refusedWith('CONFIG_INVALID', plan({ library: path.join(backupDir, 'files', 'x') }));
    await refusedWith('CONFIG_INVALID', plan({ appDir: '/usr/lib/immich' }));
    await refusedWith('CONFIG_INVALID', plan({ library: path.join(root, "it's mine") }));
  });

  test('a dump of another Immich than the kit is refused with what to do', async () => {
    const other = path.join(root, 'other', 'immich-backup');
    await writeBackup(other, 'v2.6.0');
    const message = await refusedWith(
      'VERSION_MISMATCH',
      plan({ backupDir: other, scriptPath: '/nowhere/agent.mjs' }),
    );
    assert.match(
      message,
      /This dump is from Immich 2\.6\.0 with PostgreSQL 14, but the restore kit would start Immich 2\.7\.5\. Start Immich 2\.6\.0 first/,
    );
  });

  test('a files/ that is a symlink is refused (rsync would copy what it points at)', async () => {
    const linked = path.join(root, 'linked-files', 'immich-backup');
    await writeBackup(linked);
    await rm(path.join(linked, 'files'), { recursive: true });
    await symlink('/etc', path.join(linked, 'files'));
    const message = await refusedWith('NO_BACKUP', plan({ backupDir: linked }));
    assert.match(message, /files is a symlink/);
  });

  test('a manifest that is a symlink is not followed', async () => {
    const linked = path.join(root, 'linked', 'immich-backup');
    await writeBackup(linked);
    const manifest = path.join(linked, 'restore-kit', 'restore-kit.json');
    await rm(manifest);
    await symlink(path.join(backupDir, 'restore-kit', 'restore-kit.json'), manifest);
    const message = await refusedWith('NO_BACKUP', plan({ backupDir: linked }));
    assert.match(message, /symlink/);
  });
});
