import { z } from 'zod';
import { metricsSection } from './schema-metrics.js';
import { restoreKitSection } from './schema-restore-kit.js';
import { verifySection } from './schema-verify.js';
import {
  absolutePath,
  containerName,
  defaultAppDir,
  cronExpression,
  filesystemUuid,
  relativeFolder,
} from './schema-fields.js';

/**
 * The one configuration schema. Types, defaults and the descriptions used by docs/configuration.md's
 * configuration reference all come from here. Every key has a default except `drive.uuid`.
 * Objects are strict: a misspelt key is reported, not silently ignored.
 */
export const configSchema = z.strictObject({
  immich: z
    .strictObject({
      appDir: absolutePath
        .default(defaultAppDir)
        .describe('Folder with Immich’s docker-compose.yml and .env; both are read and backed up.'),
      libraryDir: absolutePath
        .optional()
        .describe('The library to mirror. Default: UPLOAD_LOCATION from appDir/.env.'),
      serverContainer: containerName
        .optional()
        .describe('Container stopped during the backup. Default: container_name in compose.'),
      databaseContainer: containerName
        .optional()
        .describe('Container running PostgreSQL. Default: container_name in compose.'),
      databaseUser: z
        .string()
        .trim()
        .min(1)
        .optional()
        .describe('Database user. Default: DB_USERNAME from .env, else postgres.'),
      databaseName: z
        .string()
        .trim()
        .min(1)
        .optional()
        .describe('Database name. Default: DB_DATABASE_NAME from .env, else immich.'),
      stopTimeoutSeconds: z
        .int()
        .min(1)
        .max(600)
        .default(30)
        .describe('Seconds the server gets to stop before Docker kills it.'),
      stopServer: z
        .enum(['during-backup', 'during-dump', 'never'])
        .default('during-backup')
        .describe(
          'Stop the server for the whole backup (the seed’s way), only until the dump is safe, or never.',
        ),
    })
    .prefault({}),
  // drive.uuid is required unless `drives` lists the drives (checked in load.ts, with the rest).
  drive: z.preprocess(
    (value) => value ?? {},
    z.strictObject({
      uuid: filesystemUuid
        .optional()
        .describe('Filesystem UUID of the backup drive (required, unless `drives` is given).'),
      mountPoint: absolutePath
        .default('/mnt/immich-backup')
        .describe('Where the agent mounts the drive when nothing has mounted it yet.'),
      backupDir: relativeFolder
        .default('immich-backup')
        .describe('Folder on the drive, relative to its root, that holds the backup.'),
      powerOffAfter: z
        .boolean()
        .default(false)
        .describe('After a plug-in run, power the drive down through UDisks2 (when it is there).'),
      allowLoopDevices: z.boolean().default(false).describe('Loop devices may start plug-in runs.'),
    }),
  ),
  drives: z
    .array(
      z.strictObject({
        uuid: filesystemUuid,
        label: z.string().trim().min(1).optional(),
        mountPoint: absolutePath.optional(),
        backupDir: relativeFolder.optional(),
        powerOffAfter: z.boolean().optional(),
      }),
    )
    .min(1)
    .optional()
    .describe(
      'Several drives in rotation: [{uuid, label, mountPoint}]; drive.* are their defaults.',
    ),
  schedule: z
    .strictObject({
      cron: cronExpression
        .default('5 2 * * 0')
        .describe('The weekly window, in local time (default Sunday 02:05).'),
      maxAgeDays: z
        .number()
        .positive()
        .default(7)
        .describe('A last success older than this many days is stale.'),
      syncWindowSeconds: z
        .int()
        .min(0)
        .default(1200)
        .describe('Wait before a scheduled run so phones finish uploading; 0 = none.'),
      syncWindowMode: z
        .enum(['fixed', 'adaptive'])
        .default('fixed')
        .describe('fixed waits the whole window; adaptive ends it once uploads are quiet.'),
      syncQuietSeconds: z
        .int()
        .min(1)
        .default(120)
        .describe('adaptive: this long without a new upload ends the sync window early.'),
    })
    .prefault({}),
  power: z
    .strictObject({
      idleShutdown: z
        .boolean()
        .default(true)
        .describe('Power off after a successful scheduled run when nobody is at the machine.'),
      users: z
        .array(z.string().trim().min(1))
        .default([])
        .describe('Users whose graphical session keeps the machine on; [] = anyone’s.'),
      delaySeconds: z
        .int()
        .min(0)
        .default(60)
        .describe('Announced countdown before power-off; 0 = none.'),
      dbusTimeoutSeconds: z
        .number()
        .positive()
        .max(120)
        .default(5)
        .describe('Each D-Bus call (logind, UDisks2) gets this long; a late answer means stay on.'),
    })
    .prefault({}),
  notify: z
    .strictObject({
      desktop: z
        .boolean()
        .default(true)
        .describe('Desktop notifications to the users with a graphical session.'),
      userBusAddress: z
        .string()
        .trim()
        .includes('{uid}', { message: 'must contain {uid}' })
        .default('unix:path=/run/user/{uid}/bus')
        .describe('Where a user’s session bus is; {uid} is replaced by the user’s id.'),
      webhooks: z
        .array(
          z.strictObject({
            url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
            kind: z
              .enum(['healthchecks', 'ntfy', 'json'])
              .default('json')
              .describe('healthchecks: /start, /fail; ntfy: a text message; json: the run record.'),
            events: z
              .array(z.enum(['start', 'success', 'failure']))
              .default(['start', 'success', 'failure']),
          }),
        )
        .default([])
        .describe('HTTP pings on start, success and failure (Healthchecks, ntfy, any webhook).'),
    })
    .prefault({}),
  log: z
    .strictObject({
      file: absolutePath
        .default('/var/log/immich-backup-agent/immich_backup.log')
        .describe('JSON-lines log of every event (the seed kept /home/gonzalo/immich_backup.log).'),
      level: z
        .enum(['debug', 'info', 'warn', 'error'])
        .default('info')
        .describe('Lowest level written to the log.'),
    })
    .prefault({}),
  metrics: metricsSection,
  verify: verifySection,
  restoreKit: restoreKitSection,
  versions: z
    .strictObject({
      exempt: z
        .array(
          z
            .string()
            .trim()
            .regex(/^[^/]+$/, { message: 'must be a top-level folder name of the library' }),
        )
        .default(['thumbs', 'encoded-video'])
        .describe('Library folders Immich regenerates: not versioned, not counted by the guard.'),
    })
    .prefault({}),
  guard: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe(
          'Count what the sync would replace or lose before copying, and refuse a mass change (MASS_CHANGE). Off, replaced originals are still checked against Immich’s checksums (ORIGINALS_DAMAGED).',
        ),
      maxChangedPercent: z
        .number()
        .min(0)
        .max(100)
        .default(5)
        .describe(
          'Refuse (MASS_CHANGE) when more than this % of backed-up files would be replaced.',
        ),
      maxMissingPercent: z
        .number()
        .min(0)
        .max(100)
        .default(20)
        .describe(
          'Refuse (MASS_CHANGE) when the library lost more than this % of the backed-up files.',
        ),
    })
    .prefault({}),
  retention: z
    .strictObject({
      keepDumps: z
        .int()
        .min(1)
        .nullable()
        .default(null)
        .describe('Keep the newest N verified dumps; null keeps every dump (the seed’s way).'),
    })
    .prefault({}),
  stateDir: absolutePath
    .default('/var/lib/immich-backup-agent')
    .describe('Run records, the lock and recovery markers.'),
});

export type ParsedConfig = z.output<typeof configSchema>;
