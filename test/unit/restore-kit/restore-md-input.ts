import { buildKitManifest, type KitFacts } from '../../../src/restore-kit/build-manifest.js';
import type { RestoreMdInput } from '../../../src/restore-kit/restore-md.js';

export const serverId = `sha256:${'ab'.repeat(32)}`;
export const databaseId = `sha256:${'12'.repeat(32)}`;

export const facts = (over: Partial<KitFacts> = {}): KitFacts => ({
  agentVersion: '0.11.0',
  agentSha256: 'cd'.repeat(32),
  envImmichVersion: 'v2',
  serverContainer: 'immich_server',
  databaseContainer: 'immich_postgres',
  database: 'immich',
  databaseUser: 'postgres',
  env: { uploadLocation: './library', dbDataLocation: './postgres' },
  uploadMounts: ['/data'],
  postgresServerVersion: '17.2 (Debian 17.2-1.pgdg120+1)',
  server: {
    reference: 'ghcr.io/immich-app/immich-server:v2.7.5',
    id: serverId,
    repoDigests: [`ghcr.io/immich-app/immich-server@sha256:${'ef'.repeat(32)}`],
  },
  databaseImage: { reference: 'example/postgres:17-pgvector', id: databaseId, repoDigests: [] },
  savedIds: new Set(),
  composeFileName: 'docker-compose.yml',
  ...over,
});

/** A RESTORE.md input as a backup run builds it, with any fact or input changed. */
export const input = (
  over: Partial<RestoreMdInput> = {},
  factsOver: Partial<KitFacts> = {},
): RestoreMdInput => ({
  manifest: buildKitManifest(facts(factsOver)),
  appDir: '/opt/immich-app',
  libraryDir: '/srv/immich/library',
  backupFolder: 'immich-backup',
  hasAgent: true,
  ...over,
});
