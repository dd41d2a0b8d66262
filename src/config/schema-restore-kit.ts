import { z } from 'zod';

/** `restoreKit`: what each successful backup leaves on the drive for a new machine. */
export const restoreKitSection = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        'After each backup, keep restore-kit/ on the drive up to date: RESTORE.md, restore-kit.json and the agent as one file that needs only Node.',
      ),
    images: z
      .boolean()
      .default(false)
      .describe(
        "Also save the server's and the database's images in restore-kit/images/ (docker save, compressed), once per image.",
      ),
  })
  .prefault({});
