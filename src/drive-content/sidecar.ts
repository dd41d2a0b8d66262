import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../files/atomic-files.js';
import type { DumpFormat } from '../model/dump-format.js';
import { sidecarFileName } from '../layout/drive.js';

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
}

export async function readSidecar(
  backupDir: string,
  dumpName: string,
): Promise<DumpSidecar | null> {
  try {
    return JSON.parse(
      await readFile(path.join(backupDir, sidecarFileName(dumpName)), 'utf8'),
    ) as DumpSidecar;
  } catch {
    return null;
  }
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
