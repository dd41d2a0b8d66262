import { existsSync } from 'node:fs';
import path from 'node:path';
import { verifyDump, type DumpFormat } from '../adapters/database-dump.js';
import type { DockerAdapter } from '../adapters/docker.js';
import type { AgentConfig } from '../config/load.js';
import { listDumps, pickDump } from '../drive-content/dumps.js';
import { formatBytes, formatDuration, plural } from '../format.js';
import type { Logger } from '../log/logger.js';
import { restoreDrill, type DrillResult } from './drill.js';
import { checkLibraryCopy, sha256 } from './library-check.js';

export interface VerifyCheck {
  name: 'dump' | 'sidecar' | 'files' | 'sample' | 'config' | 'drill';
  ok: boolean;
  detail: string;
}

export interface VerifyReport {
  ok: boolean;
  dump: {
    name: string;
    date: string;
    bytes: number;
    format: DumpFormat | null;
    hasSidecar: boolean;
  };
  checks: VerifyCheck[];
  drill: DrillResult | null;
}

export interface VerifyOptions {
  date?: string;
  drill: boolean;
  sampleSize: number;
  signal?: AbortSignal;
  /** Files the drive refused when the backup was made (the run record names them). */
  notStored?: readonly string[];
  /** Originals whose good copy the backup kept, the library's being damaged (the record's originals.damaged). */
  keptGood?: readonly string[];
}

const firstFew = (names: readonly string[]): string =>
  names
    .slice(0, 5)
    .map((name) => JSON.stringify(name))
    .join(', ') + (names.length > 5 ? ', …' : '');

/**
 * Checks the newest backup (or the one of a date): the dump is intact and complete and matches
 * its sidecar, the library copy is complete and a sample matches by content, the compose file and
 * .env are there, and with `drill` the dump really restores. Every problem is named; none stops
 * the other checks.
 */
export async function verifyBackup(
  deps: { config: AgentConfig; docker: DockerAdapter; log: Logger },
  backup: { backupDir: string; filesDir: string; filesystemType?: string },
  options: VerifyOptions,
): Promise<VerifyReport> {
  const { config, log } = deps;
  const entry = pickDump(await listDumps(backup.backupDir, log), options.date);
  const dumpFile = path.join(backup.backupDir, entry.name);
  const checks: VerifyCheck[] = [];
  const check = (name: VerifyCheck['name'], ok: boolean, detail: string): void => {
    checks.push({ name, ok, detail });
    log[ok ? 'info' : 'error'](
      { step: 'verify', check: name, ok },
      `${ok ? 'OK' : 'PROBLEM'} ${name}: ${detail}`,
    );
  };

  let format: DumpFormat | null = null;
  try {
    const result = await verifyDump(dumpFile, options.signal);
    format = result.format;
    check(
      'dump',
      true,
      `${entry.name} is intact and complete (${result.format}, ${formatBytes(result.uncompressedBytes)} of SQL).`,
    );
  } catch (error) {
    check('dump', false, (error as Error).message);
  }

  if (entry.sidecar === null) {
    check(
      'sidecar',
      true,
      `${entry.name} has no sidecar (made by the old scripts?): its checksum cannot be compared.`,
    );
  } else {
    const actual = await sha256(dumpFile);
    check(
      'sidecar',
      actual === entry.sidecar.sha256 && entry.bytes === entry.sidecar.bytes,
      actual === entry.sidecar.sha256
        ? `sha256 and size match the sidecar (Immich ${entry.sidecar.immich.serverImageTag ?? entry.sidecar.immich.envVersion ?? 'unknown'}, PostgreSQL ${entry.sidecar.postgres.serverVersion ?? 'unknown'}).`
        : `${entry.name} does not match its sidecar: sha256 ${actual.slice(0, 12)}… instead of ${entry.sidecar.sha256.slice(0, 12)}… (${formatBytes(entry.bytes)} instead of ${formatBytes(entry.sidecar.bytes)}).`,
    );
  }

  const backupTime = new Date(entry.sidecar?.createdAt ?? entry.modifiedAt);
  try {
    const library = await checkLibraryCopy(
      config.immich.libraryDir,
      backup.filesDir,
      backupTime,
      options.sampleSize,
      {
        filesystemType: backup.filesystemType,
        notStored: new Set(options.notStored ?? []),
        keptGood: new Set(options.keptGood ?? []),
      },
    );
    const gaps = [
      library.missing.length > 0
        ? `${plural(library.missing.length, 'file')} of the library missing from files/: ${firstFew(library.missing)}`
        : '',
      library.sizeDiffers.length > 0
        ? `${plural(library.sizeDiffers.length, 'file')} with another size in files/: ${firstFew(library.sizeDiffers)}`
        : '',
    ].filter(Boolean);
    const newer =
      (library.newerThanBackup > 0
        ? ` (${plural(library.newerThanBackup, 'file')} newer than the backup not expected)`
        : '') +
      // Not a fault of the backup: the run named them, and they are named here again.
      (library.notStorable.length > 0
        ? `; ${plural(library.notStorable.length, 'file')} this ${backup.filesystemType ?? ''} drive cannot store (names or sizes it refuses) are not in it: ${firstFew(library.notStorable)}`
        : '') +
      // Not a fault of the backup either: the run kept them on purpose (ORIGINALS_DAMAGED).
      (library.keptGood.length > 0
        ? `; ${plural(library.keptGood.length, 'original')} damaged in the library kept as the good copy on the drive: ${firstFew(library.keptGood)}`
        : '');
    check(
      'files',
      gaps.length === 0,
      gaps.length === 0
        ? `all ${plural(library.checked, 'file')} of the library are in files/ with the same size${newer}.`
        : gaps.join('; '),
    );
    check(
      'sample',
      library.contentDiffers.length === 0,
      library.contentDiffers.length === 0
        ? `${plural(library.sampled, 'sampled file')} match by sha256.`
        : `${library.contentDiffers.length} of ${plural(library.sampled, 'sampled file')} differ from the library: ${firstFew(library.contentDiffers)}`,
    );
  } catch (error) {
    check('files', false, `The library copy could not be compared: ${(error as Error).message}`);
  }

  const configFiles = [config.immich.composeFile, config.immich.envFile]
    .filter((file): file is string => file !== null)
    .map((file) => path.basename(file));
  const absent = configFiles.filter((name) => !existsSync(path.join(backup.backupDir, name)));
  check(
    'config',
    absent.length === 0,
    absent.length === 0
      ? `${configFiles.join(' and ')} are there.`
      : `missing on the drive: ${absent.join(', ')}.`,
  );

  let drill: DrillResult | null = null;
  if (options.drill) {
    if (format === null) {
      check('drill', false, 'not attempted: the dump itself is damaged.');
    } else {
      try {
        drill = await restoreDrill(deps.docker, {
          databaseContainer: config.immich.databaseContainer,
          user: entry.sidecar?.user ?? config.immich.databaseUser,
          database: entry.sidecar?.database ?? config.immich.databaseName,
          dumpFile,
          format,
          log,
          stateDir: config.stateDir,
        });
        const counts = Object.entries(drill.tables)
          .map(([table, rows]) => `${table}: ${rows.toLocaleString('en-US')}`)
          .join(', ');
        check(
          'drill',
          true,
          `restored into a throwaway ${drill.image} in ${formatDuration(drill.durationMs)}; rows: ${counts}.`,
        );
      } catch (error) {
        check('drill', false, (error as Error).message);
      }
    }
  }
  return {
    ok: checks.every((entry) => entry.ok),
    dump: {
      name: entry.name,
      date: entry.date,
      bytes: entry.bytes,
      format,
      hasSidecar: entry.sidecar !== null,
    },
    checks,
    drill,
  };
}
