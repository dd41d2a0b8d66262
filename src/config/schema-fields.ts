/** The kinds of value the configuration schema is made of, each checked with its message. */
import path from 'node:path';
import { Cron } from 'croner';
import { z } from 'zod';

/** Where Immich's docker-compose.yml and .env are when immich.appDir is not given. */
export const defaultAppDir = '/opt/immich-app';

export const absolutePath = z
  .string()
  .trim()
  .min(1)
  .refine((value) => path.isAbsolute(value), { message: 'must be an absolute path' })
  .transform((value) => path.normalize(value).replace(/(.)\/+$/, '$1'));

export const relativeFolder = z
  .string()
  .trim()
  .min(1)
  .refine((value) => !path.isAbsolute(value), {
    message: "must be relative to the drive's root (no leading /)",
  })
  .refine((value) => !value.split('/').includes('..'), { message: 'must not contain ".."' })
  .transform((value) => path.normalize(value).replace(/\/+$/, ''))
  .refine((value) => value !== '.', { message: "must name a folder, not the drive's root" });

export const containerName = z
  .string()
  .trim()
  .regex(/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, { message: 'is not a valid Docker container name' })
  .transform((value) => value.replace(/^\//, ''));

/** ext4/xfs/btrfs UUIDs, vfat/exFAT serials (ABCD-1234) and NTFS serials (16 hex digits). */
export const filesystemUuid = z
  .string({ error: 'is required: the filesystem UUID of the backup drive (see `blkid`)' })
  .trim()
  .regex(/^[0-9A-Fa-f]+(-[0-9A-Fa-f]+)*$/, {
    message: 'is not a filesystem UUID (hex digits and dashes, as `blkid` prints it)',
  })
  .refine((value) => value.replace(/-/g, '').length >= 8, { message: 'is too short for a UUID' });

export const cronExpression = z
  .string()
  .trim()
  .superRefine((value, context) => {
    try {
      new Cron(value, { paused: true });
    } catch (error) {
      context.addIssue({
        code: 'custom',
        message: `is not a valid cron expression (${(error as Error).message})`,
      });
    }
  });

/** Where Immich's compose file and .env are when immich.appDir is not set. */
