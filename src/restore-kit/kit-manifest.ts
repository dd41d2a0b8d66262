import { z } from 'zod';
import { composeFileNames } from '../config/immich-discovery.js';

/**
 * `restore-kit/restore-kit.json`: what a new machine needs to know to bring this Immich back from
 * the drive alone, read by `restore --from-drive` and by people (RESTORE.md says it in words).
 * It holds no time and nothing of a single run (the dump's own sidecar says which dump is what),
 * so it is rewritten only when the installation changed: a new Immich or PostgreSQL, a new
 * image, a new agent. The drive is untrusted: what is read back is validated by this schema.
 */
export const kitManifestVersion = 1;

/** An image reference as Docker takes it: no spaces, no control characters, no option-like start. */
const imageReference = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/, 'not an image reference');
/** `sha256:` and 64 hex digits: an image id, or a registry digest's hash. */
const sha256Id = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'not a sha256 id');

const kitImageSchema = z.object({
  /** As the container was created from it (compose's `image:`), e.g. `ghcr.io/immich-app/immich-server:v2.7.5`. */
  reference: imageReference,
  /** The image id the container ran (`sha256:…`): the same on every machine for the same image. */
  id: sha256Id,
  /** `name@sha256:…` for an image pulled from a registry: what to pull to get exactly it. */
  repoDigests: z.array(imageReference).max(64),
  /** `images/<hex>.tar.gz` when `restoreKit.images` saved it on the drive, else null. */
  saved: z
    .string()
    .regex(/^images\/[0-9a-f]{64}\.tar\.gz$/)
    .nullable(),
});

export const kitManifestSchema = z.object({
  kitVersion: z.literal(kitManifestVersion),
  agent: z.object({
    version: z.string().min(1).max(64),
    /**
     * The bundled agent beside this file and its sha256 (hex). It proves nothing against the
     * drive it is on: an agent run from a drive is only as trustworthy as the drive (see
     * docs/restore-from-drive.md); it tells a copy from another.
     */
    file: z.literal('immich-backup-agent.mjs'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  immich: z.object({
    /** The server's version as it ran (its image tag, else IMMICH_VERSION from .env), e.g. v2.7.5. */
    version: z.string().min(1).max(64).nullable(),
    serverContainer: z.string().min(1).max(128),
    databaseContainer: z.string().min(1).max(128),
    database: z.string().min(1).max(63),
    databaseUser: z.string().min(1).max(63),
    /** UPLOAD_LOCATION as .env had it (a new machine points it at the new library). */
    uploadLocation: z.string().max(4096).nullable(),
    /** DB_DATA_LOCATION as .env had it (a new machine starts with an empty one). */
    dbDataLocation: z.string().max(4096).nullable(),
    /** Where the server container sees the library (`/data`, `/usr/src/app/upload`). */
    uploadMounts: z.array(z.string().startsWith('/').max(4096)).max(16),
  }),
  postgres: z.object({
    /** `SHOW server_version` of the database as it ran, e.g. `17.2 (Debian 17.2-1.pgdg120+1)`. */
    serverVersion: z.string().max(256).nullable(),
    major: z.number().int().min(9).max(99).nullable(),
  }),
  images: z.object({ server: kitImageSchema.nullable(), database: kitImageSchema.nullable() }),
  /** The backup's layout, relative to the backup folder (the folder that holds restore-kit/). */
  layout: z.object({
    files: z.literal('files'),
    versions: z.literal('versions'),
    compose: z
      .string()
      .refine((name) => composeFileNames.includes(name), 'not a compose file name'),
    env: z.literal('.env'),
    dumps: z.literal('immich-db-YYYY-MM-DD.sql.gz'),
  }),
});

export type KitManifest = z.infer<typeof kitManifestSchema>;
export type KitImage = z.infer<typeof kitImageSchema>;

/** The manifest as it is written: stable key order, two-space indent, a final newline. */
export function manifestText(manifest: KitManifest): string {
  return `${JSON.stringify(kitManifestSchema.parse(manifest), null, 2)}\n`;
}

/** The manifest read back from a drive, or why it cannot be believed. */
export function parseKitManifest(text: string): KitManifest | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { problem: 'it is not JSON' };
  }
  const checked = kitManifestSchema.safeParse(parsed);
  if (checked.success) return checked.data;
  const issue = checked.error.issues[0];
  return { problem: `${issue?.path.join('.') || 'its shape'}: ${issue?.message ?? 'invalid'}` };
}

/** The image file name of an image id: `images/<hex>.tar.gz`. */
export function savedImageName(id: string): string {
  return `images/${sha256Id.parse(id).slice('sha256:'.length)}.tar.gz`;
}
