import path from 'node:path';

/**
 * The state folder (`stateDir`, root's own): the one place that knows what lives in it. The
 * agent trusts it as it trusts its configuration.
 */
export interface StateFolder {
  dir: string;
  /** Held by the run in progress (and by verify, restore, recover): one at a time. */
  lockFile: string;
  /** The current step of the run in progress, for `status` (a killed run leaves it behind). */
  progressFile: string;
  /** Written while a run has the Immich server stopped, removed once it runs again. */
  serverStoppedFile: string;
  /** Written while a run has the drive mounted, removed once it is unmounted. */
  driveMountedFile: string;
  /** The run history's folder: records go in its `runs/seq-<sequence>-<id>.json`. */
  historyDir: string;
  /** The counter that orders the run history (history/sequence.ts). */
  sequenceDir: string;
  /** Every restore's record, `restores/<finishedAt>-<id>.json`. */
  restoresDir: string;
  /** The random key (0600) that the pinned drives' token hashes are keyed with. */
  driveTrustKeyFile: string;
  /** One pin per trusted drive (`<uuid>.json`, 0600): its hardware and its token's keyed hash. */
  trustedDrivesDir: string;
  /** Per drive (`<uuid>.json`, 0600): where the rolling read-back of its originals stands. */
  readBackDir: string;
  /** Per drive (`<uuid>.json`, 0600): the restore kit's image files the agent wrote there. */
  kitImagesDir: string;
}

export function stateFolder(stateDir: string): StateFolder {
  return {
    dir: stateDir,
    lockFile: path.join(stateDir, 'run.lock'),
    progressFile: path.join(stateDir, 'progress.json'),
    serverStoppedFile: path.join(stateDir, 'server-stopped.json'),
    driveMountedFile: path.join(stateDir, 'drive-mounted.json'),
    historyDir: stateDir,
    sequenceDir: path.join(stateDir, 'sequence'),
    restoresDir: path.join(stateDir, 'restores'),
    driveTrustKeyFile: path.join(stateDir, 'drive-trust.key'),
    trustedDrivesDir: path.join(stateDir, 'trusted-drives'),
    readBackDir: path.join(stateDir, 'read-back'),
    kitImagesDir: path.join(stateDir, 'kit-images'),
  };
}

/** The folder of a history (the state folder's, the drive's) that holds the records. */
export const runsFolder = 'runs';
