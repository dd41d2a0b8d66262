/** What the guard's dry run found, counting only folders that are not exempt. */
export interface ChangeCount {
  /** Files of the library now (not exempt). */
  libraryFiles: number;
  /** Of those, files the backup does not have yet. */
  newFiles: number;
  /** Files in the backup that the sync would replace (changed content, size or time). */
  replacedFiles: number;
  /** Files in the backup the library no longer has. */
  missingFiles: number;
}

export interface MassChangeVerdict {
  refuse: boolean;
  backedUpFiles: number;
  changedPercent: number;
  /** Of the missing files, those lost since the last successful backup. */
  newlyMissing: number;
  missingPercent: number;
  reason: string;
}

const percent = (part: number, whole: number): number =>
  whole === 0 ? 0 : Math.round((part / whole) * 1000) / 10;

/**
 * Immich's originals almost never change after upload. When many of the files already backed up
 * would be replaced at once, or many have vanished from the library, something is wrong with the
 * library (a failing disk, a bad script, ransomware) and copying it would spread the damage over
 * the good copies: refuse, until a person says the change is wanted.
 */
export function massChangeVerdict(
  count: ChangeCount,
  limits: { maxChangedPercent: number; maxMissingPercent: number },
  /**
   * Files the backup had and the library had lost already at the last successful backup. The
   * mirror never deletes, so lost files add up run after run (Immich's trash, a storage-template
   * migration); only what went missing since then is a change.
   */
  missingBefore = 0,
): MassChangeVerdict {
  // Files in the backup: those the library still has (all but the new ones), and the lost ones.
  const backedUpFiles = count.libraryFiles - count.newFiles + count.missingFiles;
  const newlyMissing = Math.max(0, count.missingFiles - missingBefore);
  const changedPercent = percent(count.replacedFiles, backedUpFiles);
  const missingPercent = percent(newlyMissing, backedUpFiles);
  const tooManyChanged = changedPercent > limits.maxChangedPercent;
  const tooManyMissing = missingPercent > limits.maxMissingPercent;
  const reason = [
    tooManyChanged
      ? `${count.replacedFiles.toLocaleString('en-US')} of the ${backedUpFiles.toLocaleString('en-US')} backed-up files (${changedPercent}%) would be replaced, more than the ${limits.maxChangedPercent}% allowed`
      : '',
    tooManyMissing
      ? `${newlyMissing.toLocaleString('en-US')} of them (${missingPercent}%) are gone from the library since the last backup, more than the ${limits.maxMissingPercent}% allowed`
      : '',
  ]
    .filter(Boolean)
    .join('; ');
  return {
    refuse: backedUpFiles > 0 && (tooManyChanged || tooManyMissing),
    backedUpFiles,
    changedPercent,
    newlyMissing,
    missingPercent,
    reason: reason || `${changedPercent}% replaced, ${missingPercent}% missing: within the limits`,
  };
}
