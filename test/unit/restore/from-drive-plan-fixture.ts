/** The backup and the fake engine the plan's tests share (see from-drive-plan*.test.ts). */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import type { DockerAdapter } from '../../../src/adapters/docker.js';
import type { ProcessGateway } from '../../../src/adapters/process.js';
import { isAgentError, type ErrorCode } from '../../../src/errors.js';
import { manifestText, type KitManifest } from '../../../src/restore-kit/kit-manifest.js';
import { planFromDrive } from '../../../src/restore/from-drive-plan.js';

export const hex = (digit: string): string => digit.repeat(64);
export const log = pino({ level: 'silent' });
export const where = { root: '', backupDir: '', kitAgent: '' };

export function kit(overrides: Partial<KitManifest['immich']> = {}): KitManifest {
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

export const compose =
  'name: immich\nservices:\n  database:\n    container_name: ${DB_CONTAINER:-immich_postgres}\n    image: postgres\n    volumes:\n      - ${DB_DATA_LOCATION}:/var/lib/postgresql/data\n';

export async function writeBackup(
  folder: string,
  sidecarImmich = 'v2.7.5',
  composeText = compose,
): Promise<void> {
  await mkdir(path.join(folder, 'restore-kit', 'images'), { recursive: true });
  await mkdir(path.join(folder, 'files'), { recursive: true });
  await writeFile(path.join(folder, 'restore-kit', 'restore-kit.json'), manifestText(kit()));
  await writeFile(path.join(folder, 'restore-kit', 'immich-backup-agent.mjs'), '// agent\n');
  await writeFile(path.join(folder, 'restore-kit', 'images', `${hex('a')}.tar.gz`), 'x');
  await writeFile(path.join(folder, 'docker-compose.yml'), composeText);
  await writeFile(
    path.join(folder, '.env'),
    'UPLOAD_LOCATION=./library\nDB_PASSWORD=pw\nDB_CONTAINER=immich_postgres\n',
  );
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

/** Containers this fake engine has (another Immich's, for the tests that say so). */
export const containers = new Set<string>();
/** Containers of the compose project `immich` (named by compose). */
export const projectContainers = new Set<string>();
export const docker = {
  imageInfo: (reference: string) =>
    Promise.resolve(
      reference === `sha256:${hex('b')}` ? { id: reference, repoTags: [], repoDigests: [] } : null,
    ),
  namesWithLabel: (label: string) =>
    Promise.resolve(label === 'com.docker.compose.project=immich' ? [...projectContainers] : []),
  inspect: (name: string) =>
    Promise.resolve(containers.has(name) ? { running: true, status: 'running' } : null),
} as unknown as DockerAdapter;
export const engine = { composeFound: true };
/** Volumes and networks of the compose project `immich` (`docker volume|network ls`). */
export const projectResources = { volume: new Set<string>(), network: new Set<string>() };
export const gateway = {
  run: (request: { file: string; args: readonly string[] }) =>
    Promise.resolve({
      exitCode: engine.composeFound && request.file === 'docker' ? 0 : 127,
      stdout:
        (request.args[0] === 'volume' || request.args[0] === 'network') &&
        request.args.includes('label=com.docker.compose.project=immich')
          ? [...projectResources[request.args[0]]].map((name) => `${name}\n`).join('')
          : '',
      stderr: '',
      durationMs: 1,
    }),
} as unknown as ProcessGateway;

export async function refusedWith(code: ErrorCode, work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    assert.ok(isAgentError(error, code), String(error));
    return error.longMessage;
  }
  assert.fail(`not refused (${code} expected)`);
}

/** A temporary root with a backup in it, for one test file; removed after it. */
export function withBackup(label: string): void {
  before(async () => {
    where.root = await mkdtemp(path.join(os.tmpdir(), `from-drive ${label} $(touch x) ü `));
    where.backupDir = path.join(where.root, 'drive', 'immich-backup');
    await writeBackup(where.backupDir);
    where.kitAgent = path.join(where.backupDir, 'restore-kit', 'immich-backup-agent.mjs');
  });
  after(async () => {
    await rm(where.root, { recursive: true, force: true });
  });
}

export const plan = (
  options: { appDir?: string; library?: string; backupDir?: string; scriptPath?: string } = {},
) =>
  planFromDrive(
    {
      appDir: options.appDir ?? path.join(where.root, 'new', 'app'),
      library: options.library ?? path.join(where.root, 'new', 'library'),
      backupDir: options.backupDir,
      scriptPath: options.scriptPath ?? where.kitAgent,
    },
    { docker, gateway, log },
  );
