import type { DumpSidecar } from '../drive-content/sidecar.js';
import { AgentError } from '../errors.js';
import type { KitManifest } from '../restore-kit/kit-manifest.js';

/** What the dump and the kit say about the versions, as a restore from the drive compares them. */
export interface VersionFacts {
  /** The dump's Immich (its sidecar: the server image's tag, else IMMICH_VERSION), e.g. v2.7.5. */
  dumpImmich: string | null;
  /** The dump's PostgreSQL server version (`SHOW server_version`). */
  dumpPostgres: string | null;
  /** The kit's Immich, whose images and compose file the new machine starts. */
  kitImmich: string | null;
  /** The major of the kit's database image's PostgreSQL. */
  kitPostgresMajor: number | null;
}

export function versionFacts(kit: KitManifest, sidecar: DumpSidecar | null): VersionFacts {
  return {
    dumpImmich: sidecar?.immich.serverImageTag ?? sidecar?.immich.envVersion ?? null,
    dumpPostgres: sidecar?.postgres.serverVersion ?? null,
    kitImmich: kit.immich.version,
    kitPostgresMajor: kit.postgres.major,
  };
}

/**
 * An exact Immich version (`v2.7.5`), without its `v`; null for `release`, `v2`, `v2.7` (a tag
 * that moves with each patch release), none.
 */
export function exactImmichVersion(version: string | null): string | null {
  const match = /^v?(\d+\.\d+\.\d+)$/.exec(version ?? '');
  return match ? (match[1] as string) : null;
}

/** The major of a PostgreSQL version (`15.4 (Debian …)` → 15, `9.6.24` → 9), else null. */
export function postgresMajor(version: string | null): number | null {
  const match = /^(\d+)/.exec(version ?? '');
  return match ? Number(match[1]) : null;
}

/**
 * Refuses a restore the new machine cannot take: a dump of another Immich version than the one
 * the kit starts (Immich's migrations run forward from the version that wrote the database, and
 * only the same version is sure to read it), or of a newer PostgreSQL than the kit's database
 * image (a dump does not go back into an older major). Versions that are not known or not exact
 * (`release`) are not compared: the plan says so. Says what to do instead.
 */
export function guardVersions(facts: VersionFacts): void {
  const dumpImmich = exactImmichVersion(facts.dumpImmich);
  const kitImmich = exactImmichVersion(facts.kitImmich);
  const dumpMajor = postgresMajor(facts.dumpPostgres);
  const origin = `This dump is from Immich ${dumpImmich ?? facts.dumpImmich ?? '(version unknown)'}${dumpMajor === null ? '' : ` with PostgreSQL ${dumpMajor}`}`;
  if (dumpImmich !== null && kitImmich !== null && dumpImmich !== kitImmich) {
    throw new AgentError(
      'VERSION_MISMATCH',
      `${origin}, but the restore kit would start Immich ${kitImmich}.`,
      {
        step: 'restore',
        hint: `Start Immich ${dumpImmich} first (IMMICH_VERSION=v${dumpImmich} in .env, with its images), restore into it, then upgrade.`,
      },
    );
  }
  if (dumpMajor !== null && facts.kitPostgresMajor !== null && dumpMajor > facts.kitPostgresMajor) {
    throw new AgentError(
      'VERSION_MISMATCH',
      `${origin}, but the kit's database image runs PostgreSQL ${facts.kitPostgresMajor}, which cannot take a dump of a newer PostgreSQL.`,
      {
        step: 'restore',
        hint: `Start that version first (a database image with PostgreSQL ${dumpMajor}, as Immich ${dumpImmich ?? 'of the backup'} ran), then upgrade.`,
      },
    );
  }
}

/** What the plan says about the versions: compared, or why not. */
export function describeVersions(facts: VersionFacts): string {
  const dump = `Immich ${facts.dumpImmich ?? 'unknown'}, PostgreSQL ${facts.dumpPostgres ?? 'unknown'}`;
  const kit = `Immich ${facts.kitImmich ?? 'unknown'}, PostgreSQL ${facts.kitPostgresMajor ?? 'unknown'}`;
  const compared =
    exactImmichVersion(facts.dumpImmich) !== null && exactImmichVersion(facts.kitImmich) !== null
      ? 'they match'
      : 'the Immich versions are not both exact, so they were not compared';
  return `dump: ${dump}; kit: ${kit} (${compared})`;
}
