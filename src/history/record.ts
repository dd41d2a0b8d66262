import { hostname } from 'node:os';
import type { DriveIdentity } from '../model/drive-identity.js';

/** The record every run leaves, whatever happened (`last-run --json`; see CONTRACT.md). */
export type Trigger = 'manual' | 'hotplug' | 'schedule';
export const triggers: readonly Trigger[] = ['manual', 'hotplug', 'schedule'];

export type Outcome = 'success' | 'warning' | 'skipped' | 'failed' | 'interrupted';

export interface RecordedError {
  code: string;
  step: string | null;
  message: string;
  hint: string | null;
}

export interface RunRecord {
  id: string;
  /**
   * Where the record stands in the history: the state folder's counter, one up for each record
   * (history/sequence.ts). Records are ordered by it, never by their times. Absent from records
   * of versions before it (those come first).
   */
  sequence?: number;
  trigger: Trigger;
  outcome: Outcome;
  /** The code of what decided the outcome (NOT_DUE, DRIVE_ABSENT, DUMP_FAILED, …), or null. */
  reason: string | null;
  /** One sentence a person can read. */
  message: string;
  hint: string | null;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  dryRun: boolean;
  forced: boolean;
  drive: {
    uuid: string;
    mountPoint: string | null;
    device: string | null;
    filesystemType: string | null;
    mountedByAgent: boolean;
    label?: string;
    /** The hardware behind it (vendor, model, serial, USB speed, driver), from sysfs. */
    identity?: DriveIdentity;
    /** Free and total space at the end of the run. */
    freeBytes?: number;
    sizeBytes?: number;
  } | null;
  database: {
    file: string;
    bytes: number;
    sha256: string;
    container: string;
    name: string;
    durationMs: number;
  } | null;
  files: {
    transferredFiles: number;
    transferredBytes: number;
    totalFiles: number;
    totalBytes: number;
    durationMs: number;
    /** Files whose previous copy was moved to versions/ (replaced, not lost). */
    versionedFiles?: number;
    versionedBytes?: number;
    /** Where this run put them, relative to the backup folder. */
    versionsDir?: string | null;
    /** What versions/ takes on the drive in all, after this run. */
    versionsTotalBytes?: number;
    /**
     * Files the drive's filesystem cannot store (names vfat/exFAT refuse, FAT32's 4 GiB limit),
     * left out: how many, and their paths in the library (the first thousand).
     */
    notStored?: { files: number; names: string[] } | null;
  } | null;
  config: { files: string[] } | null;
  server: {
    container: string;
    stoppedAt: string | null;
    startedAt: string | null;
    downtimeMs: number;
  } | null;
  power: { decision: 'poweroff' | 'stay-on' | 'not-applicable'; reason: string };
  /** After a plug-in run: may the drive be unplugged now, and what to tell the person. */
  unplug: { safe: boolean; poweredOff: boolean; message: string } | null;
  /** What the mass-change guard counted before copying (exempt folders left out). */
  guard: {
    backedUpFiles: number;
    replacedFiles: number;
    /** Files the backup has that the library no longer has, in all. */
    missingFiles: number;
    /** Of those, the ones lost since the last successful backup (what missingPercent counts). */
    newlyMissingFiles?: number;
    changedPercent: number;
    missingPercent: number;
    /** The guard would have refused; --accept-changes let the run through. */
    accepted: boolean;
  } | null;
  /**
   * Originals the copy would have replaced on the drive, checked against Immich's own checksum
   * first (Immich never changes an original): those whose live content no longer matches were
   * not copied, the good copy on the drive kept. Null when nothing would be replaced.
   */
  originals?: {
    /** Replaced originals checked against the database's checksum. */
    checked: number;
    /**
     * Of those, live files that no longer match Immich's record (library-relative paths): the
     * first 1,000, with those whose new copy on the drive did not match after the copy (its
     * previous copy put back from versions/).
     */
    damaged: string[];
    /** How many were damaged in all (`damaged` names at most 1,000); absent in older records. */
    damagedCount?: number;
    /** Replaced files Immich has no checksum for (not an asset's original): copied as before. */
    unknown: number;
  } | null;
  /**
   * The rolling read-back of this run: originals on the drive re-read and checked against
   * Immich's checksums (from the dump just written), within verify.readBackSeconds.
   */
  readBack?: {
    checkedFiles: number;
    checkedBytes: number;
    durationMs: number;
    bytesPerSecond: number;
    /** Library-relative paths of originals on the drive whose SHA-1 is not Immich's. */
    mismatches: string[];
    /** Originals the dump references that the drive does not have. */
    missing: string[];
    /** Share of the drive's originals re-read in the current cycle, 0..1, after this run. */
    cycleCoverage: number;
    /** Originals of Immich's external libraries: outside the library, not in the backup. */
    outside?: { count: number; folders: string[] };
  } | null;
  /**
   * The restore kit on the drive (restoreKit): the kit's files this run rewrote (none when
   * nothing in them changed) and the bytes that took; null when the step did not run. Absent in
   * records of versions before it.
   */
  restoreKit?: {
    written: string[];
    unchanged: boolean;
    bytesWritten: number;
    /** restoreKit.images: images saved this run, already there, and the bytes saved. */
    images: { saved: number; present: number; bytesWritten: number } | null;
  } | null;
  /** The check after the backup (verify.afterBackup), or null when none ran. */
  verify: { ok: boolean; problems: string[]; drillRows: Record<string, number> | null } | null;
  /** A scheduled run the daemon started for a window missed while the machine was off. */
  catchUp: boolean;
  nextDueAt: string | null;
  warnings: string[];
  errors: RecordedError[];
  agentVersion: string;
  hostname: string;
}

/** The record with its place in the history, shown next to its id (`last-run --json`). */
export function withSequence(record: RunRecord, sequence: number): RunRecord {
  const { id, ...rest } = record;
  delete rest.sequence;
  return { id, sequence, ...rest };
}

/** The record's drive for a run that never found it: named, nothing found or mounted. */
export function driveNotUsed(drive: {
  uuid: string;
  label?: string;
}): NonNullable<RunRecord['drive']> {
  return {
    uuid: drive.uuid,
    mountPoint: null,
    device: null,
    filesystemType: null,
    mountedByAgent: false,
    ...(drive.label ? { label: drive.label } : {}),
  };
}

/** The power decision of a run that may not power off (all but a scheduled one). */
export const noPowerDecision: RunRecord['power'] = {
  decision: 'not-applicable',
  reason: 'Only a scheduled run may power the machine off.',
};

/**
 * A record with nothing done yet: every step's part null, no power decision, no warnings. The
 * one place a record is made whole (its keys in the order `last-run --json` shows them); a run's
 * state and a dead run's recovery fill in the rest.
 */
export function emptyRecord(
  base: Pick<RunRecord, 'id' | 'trigger' | 'outcome' | 'startedAt' | 'finishedAt' | 'agentVersion'>,
): RunRecord {
  return {
    id: base.id,
    trigger: base.trigger,
    outcome: base.outcome,
    reason: null,
    message: '',
    hint: null,
    startedAt: base.startedAt,
    finishedAt: base.finishedAt,
    durationMs: Date.parse(base.finishedAt) - Date.parse(base.startedAt),
    dryRun: false,
    forced: false,
    drive: null,
    database: null,
    files: null,
    config: null,
    server: null,
    power: { ...noPowerDecision },
    unplug: null,
    verify: null,
    guard: null,
    originals: null,
    readBack: null,
    restoreKit: null,
    catchUp: false,
    nextDueAt: null,
    warnings: [],
    errors: [],
    agentVersion: base.agentVersion,
    hostname: hostname(),
  };
}
