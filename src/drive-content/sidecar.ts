import path from 'node:path';
import { writeFileAtomic } from '../files/atomic-files.js';
import type { DumpFormat } from '../model/dump-format.js';
import { sidecarFileName } from '../layout/drive.js';
import { readSmallRegularFile } from '../files/small-file.js';
import type { Logger } from '../log/logger.js';
import { z } from 'zod';

/**
 * `immich-db-YYYY-MM-DD.json` beside each dump: what it is and what made it, so a restore can
 * tell whether it fits the Immich that runs now, and verify can tell whether it is intact.
 */
export interface DumpSidecar {
  dump: string;
  format: DumpFormat;
  database: string;
  user: string;
  bytes: number;
  sha256: string;
  createdAt: string;
  immich: {
    /** IMMICH_VERSION from .env (v2.5.2, v2, release). */
    envVersion: string | null;
    /** The running server container's image and its tag. */
    serverImage: string | null;
    serverImageTag: string | null;
  };
  postgres: { serverVersion: string | null; image: string | null };
  /** Checked after writing: gzip intact, trailer present. */
  verified: boolean;
  runId: string;
  agentVersion: string;
  /**
   * The dump's place among the dumps on this drive: one above the highest there when it was
   * written (drive-content/dump-order.ts). Dumps are ordered by it, never by the date in their
   * name (a clock). Absent in sidecars of earlier versions.
   */
  sequence?: number;
}

/** Far above any real count, far below where adding one loses precision. */
const maxDumpSequence = 2 ** 50;

/** What a sidecar must look like to be believed (the drive is not trusted: anyone can write it). */
const sidecarSchema: z.ZodType<DumpSidecar> = z.object({
  dump: z.string(),
  format: z.enum(['pg_dump', 'pg_dumpall']),
  database: z.string(),
  user: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string().refine((value) => !Number.isNaN(Date.parse(value))),
  immich: z.object({
    envVersion: z.string().nullable(),
    serverImage: z.string().nullable(),
    serverImageTag: z.string().nullable(),
  }),
  postgres: z.object({ serverVersion: z.string().nullable(), image: z.string().nullable() }),
  verified: z.boolean(),
  runId: z.string(),
  agentVersion: z.string(),
  sequence: z.number().int().positive().max(maxDumpSequence).optional(),
});

/**
 * A dump's sidecar, or null when it is absent or cannot be believed: read only as a small
 * regular file (a FIFO would hang the run, a symlink lead elsewhere), and only when it has
 * every field of a sidecar. Why one was passed over is logged when a logger is given.
 */
export async function readSidecar(
  backupDir: string,
  dumpName: string,
  log?: Logger,
): Promise<DumpSidecar | null> {
  const file = path.join(backupDir, sidecarFileName(dumpName));
  const read = await readSmallRegularFile(file, 64 * 1024);
  if ('absent' in read) {
    if (!/ENOENT/.test(read.absent))
      log?.warn({ step: 'backups' }, `Passed over the sidecar ${file}: ${read.absent}.`);
    return null;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(read.text);
  } catch {
    log?.warn({ step: 'backups' }, `Passed over the sidecar ${file}: it is not JSON.`);
    return null;
  }
  const checked = sidecarSchema.safeParse(parsed);
  if (!checked.success) {
    log?.warn(
      { step: 'backups' },
      `Passed over the sidecar ${file}: it is not a sidecar (${checked.error.issues[0]?.path.join('.') || 'its shape'}).`,
    );
    return null;
  }
  return checked.data;
}

export async function writeSidecar(backupDir: string, sidecar: DumpSidecar): Promise<void> {
  await writeFileAtomic(
    path.join(backupDir, sidecarFileName(sidecar.dump)),
    JSON.stringify(sidecar, null, 2) + '\n',
  );
}

/** The tag of an image reference (`ghcr.io/immich-app/immich-server:v2.5.2@sha256:…` → v2.5.2). */
export function imageTag(image: string | null): string | null {
  if (!image) return null;
  const withoutDigest = image.split('@')[0] ?? image;
  const lastPart = withoutDigest.split('/').at(-1) ?? withoutDigest;
  return lastPart.includes(':') ? (lastPart.split(':').at(-1) ?? null) : null;
}

/** The tag of an Immich server image, or null for any other image (a stand-in, a fork). */
export function immichServerTag(image: string | null): string | null {
  return image && /immich-server/.test(image) ? imageTag(image) : null;
}

/** The major version in an Immich version string (v2.5.2 → 2, v1.133.0 → 1, release → null). */
export function immichMajor(version: string | null): number | null {
  const match = /^v?(\d+)(?:\.|$)/.exec(version ?? '');
  return match ? Number(match[1]) : null;
}
