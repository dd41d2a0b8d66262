import { immichServerTag } from '../drive-content/sidecar.js';
import {
  kitManifestSchema,
  kitManifestVersion,
  savedImageName,
  type KitImage,
  type KitManifest,
} from './kit-manifest.js';

/** What the kit's manifest is made of, as the run found it. */
export interface KitFacts {
  agentVersion: string;
  agentSha256: string;
  /** IMMICH_VERSION from .env, for a server image whose tag does not say it. */
  envImmichVersion: string | null;
  serverContainer: string;
  databaseContainer: string;
  database: string;
  databaseUser: string;
  env: { uploadLocation: string | null; dbDataLocation: string | null };
  uploadMounts: readonly string[];
  postgresServerVersion: string | null;
  server: RunningImage | null;
  databaseImage: RunningImage | null;
  /** Image ids saved in the kit's images/ (this run or an earlier one). */
  savedIds: ReadonlySet<string>;
  composeFileName: string;
}

/** The image a container ran: its reference, id and the registry digests of that id. */
export interface RunningImage {
  reference: string;
  id: string;
  repoDigests: readonly string[];
  /** Its unpacked size, when the engine said (the space a saved copy needs at most). */
  bytes?: number;
}

/** restore-kit.json's content, checked against its schema (a value that does not fit throws). */
export function buildKitManifest(facts: KitFacts): KitManifest {
  const kitImage = (image: RunningImage | null): KitImage | null =>
    image && {
      reference: image.reference,
      id: image.id,
      repoDigests: [...image.repoDigests].sort().slice(0, 64),
      saved: facts.savedIds.has(image.id) ? savedImageName(image.id) : null,
    };
  return kitManifestSchema.parse({
    kitVersion: kitManifestVersion,
    agent: {
      version: facts.agentVersion,
      file: 'immich-backup-agent.mjs',
      sha256: facts.agentSha256,
    },
    immich: {
      version: immichServerTag(facts.server?.reference ?? null) ?? facts.envImmichVersion,
      serverContainer: facts.serverContainer,
      databaseContainer: facts.databaseContainer,
      database: facts.database,
      databaseUser: facts.databaseUser,
      uploadLocation: facts.env.uploadLocation,
      dbDataLocation: facts.env.dbDataLocation,
      uploadMounts: facts.uploadMounts.slice(0, 16),
    },
    postgres: {
      serverVersion: facts.postgresServerVersion,
      major: postgresMajor(facts.postgresServerVersion),
    },
    images: { server: kitImage(facts.server), database: kitImage(facts.databaseImage) },
    layout: {
      files: 'files',
      versions: 'versions',
      compose: facts.composeFileName,
      env: '.env',
      dumps: 'immich-db-YYYY-MM-DD.sql.gz',
    },
  });
}

/** `17.2 (Debian 17.2-1.pgdg120+1)` → 17, `9.6.24` → 9; null when it does not say. */
export function postgresMajor(serverVersion: string | null): number | null {
  const match = /^(\d+)/.exec(serverVersion ?? '');
  const major = match ? Number(match[1]) : null;
  return major !== null && major >= 9 && major <= 99 ? major : null;
}
