import { plural } from '../../format.js';

/** Damaged paths the record (and the log) names; the count says how many there were. */
export const damagedListLimit = 1000;

/**
 * The warning: `kept` before the copy (left out of it), `put back` after it (the new copy did not
 * match; the previous one came back from versions/).
 */
export function damagedMessage(
  damaged: readonly string[],
  today: string,
  how: 'kept' | 'put back',
): string {
  const shown = damaged.slice(0, 10).map(shownName).join(', ');
  const listed = damaged.length > damagedListLimit ? `, the first ${damagedListLimit}` : '';
  const more =
    damaged.length > 10 ? ` and ${damaged.length - 10} more (last-run --json${listed})` : '';
  const one = damaged.length === 1;
  const what =
    how === 'kept'
      ? `${one ? 'Its good copy' : 'Their good copies'} on the drive ${one ? 'was' : 'were'} kept, not overwritten`
      : `${one ? 'It' : 'They'} changed while the backup ran; the previous ${one ? 'copy was' : 'copies were'} put back on the drive from versions/`;
  return `${plural(damaged.length, 'original')} in the library no longer ${one ? 'matches' : 'match'} Immich's own checksum, though Immich never changes an original (a failing disk, a script or ransomware does): ${shown}${more}. ${what}. Look at ${one ? 'it' : 'them'} in the library, and put a good copy back with: immich-backup-agent restore --path <file> --as-of ${today} --yes.`;
}

/** A name as text for a message: as it is, or JSON-quoted when it holds control characters. */
function shownName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(name) ? JSON.stringify(name) : name;
}
