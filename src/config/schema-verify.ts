import { z } from 'zod';

/** `verify`: the check after each backup, and the rolling read-back against Immich's checksums. */
export const verifySection = z
  .strictObject({
    afterBackup: z
      .enum(['off', 'quick', 'drill'])
      .default('off')
      .describe(
        'After each backup: off, quick (dump, sidecar, files) or drill (also a test restore).',
      ),
    sampleSize: z
      .int()
      .min(0)
      .default(50)
      .describe('How many library files verify compares by content hash.'),
    fullCycleDays: z
      .int()
      .min(1)
      .default(56)
      .describe(
        "Every original on the drive is re-read and checked against Immich's own checksum at least once in this many days (a slice per backup).",
      ),
    readBackSeconds: z
      .int()
      .min(0)
      .default(300)
      .describe(
        "Time each backup may spend re-reading originals on the drive against Immich's checksums; 0 = no read-back.",
      ),
  })
  .prefault({});
