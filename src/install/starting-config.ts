import { existsSync } from 'node:fs';
import { rename, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { readImmichInstall } from '../config/immich-discovery.js';
import { loadConfig } from '../config/load.js';
import { AgentError } from '../errors.js';
import { makeDirectories } from './directories.js';

export interface StartingConfigReport {
  file: string;
  /** False when a configuration was there already (it is kept as it is). */
  written: boolean;
  /** What was found in Immich's files, for the person to read. */
  found: string[];
  /** What the person should look at. */
  check: string[];
}

/**
 * The configuration install starts from, when there is none: the drives given with --uuid, and
 * what Immich's compose file and .env say, told back to the person (found, check). An existing
 * configuration is never touched.
 */
export async function ensureConfig(
  options: { appDir?: string; uuids: string[]; mountPoint?: string },
  file: string,
  created: Set<string>,
): Promise<StartingConfigReport> {
  if (existsSync(file)) {
    return {
      file,
      written: false,
      found: [`an existing configuration, kept as it is`],
      check:
        options.uuids.length > 0
          ? ['--uuid was ignored: the existing configuration decides the drives']
          : [],
    };
  }
  if (options.uuids.length === 0) {
    throw new AgentError(
      'CONFIG_INVALID',
      'There is no configuration yet, and no --uuid to write one with.',
      {
        hint: 'Give the backup drive with --uuid (sudo blkid shows the UUID of each filesystem).',
      },
    );
  }
  const appDir = path.resolve(options.appDir ?? '/opt/immich-app');
  const immich = await readImmichInstall(appDir);
  const found = [
    `Immich in ${appDir}: ${immich.composeFile ? path.basename(immich.composeFile) : 'NO compose file'}, ${immich.envFile ? '.env' : 'NO .env'}`,
    `library: ${immich.env.get('UPLOAD_LOCATION') ? path.resolve(appDir, immich.env.get('UPLOAD_LOCATION') as string) : 'unknown (no UPLOAD_LOCATION)'}`,
    `containers: ${immich.serverContainer ?? 'immich_server'} and ${immich.databaseContainer ?? 'immich_postgres'}`,
    `database: ${immich.env.get('DB_DATABASE_NAME') || 'immich'} as ${immich.env.get('DB_USERNAME') || 'postgres'}`,
  ];
  const check = [
    ...immich.problems,
    'drive.mountPoint: where the drive is mounted when nothing else has mounted it',
    'power.users: whose desktop session keeps the machine on after the Sunday backup ([] = anyone)',
  ];
  const drives = options.uuids.map((uuid, index) => ({
    uuid,
    ...(options.uuids.length > 1 ? { label: `drive-${index + 1}` } : {}),
  }));
  const document = {
    immich: { appDir },
    ...(drives.length === 1
      ? { drive: { uuid: drives[0]?.uuid, mountPoint: options.mountPoint ?? '/mnt/immich-backup' } }
      : { drive: { mountPoint: options.mountPoint ?? '/mnt/immich-backup' }, drives }),
  };
  const header = [
    `# Written by \`immich-backup-agent install\` on ${new Date().toISOString().slice(0, 10)}.`,
    '# The library, containers and database are read from Immich’s compose file and .env at every',
    '# run; set them here only to override. Every key is explained in `man immich-backup-agent`,',
    '# docs/configuration.md and config.example.yml. Check it with:',
    '# sudo immich-backup-agent config validate',
    '',
  ].join('\n');
  const existedBefore = new Set(created);
  await makeDirectories(path.dirname(file), created);
  // Loaded before it takes its place: a configuration the agent cannot use (no .env in
  // --app-dir, a malformed --uuid) is never left behind for the next install to keep.
  const candidate = `${file}.new`;
  await writeFile(candidate, header + stringify(document), { mode: 0o600 });
  try {
    await loadConfig(candidate);
  } catch (error) {
    await rm(candidate, { force: true });
    for (const folder of [...created].filter((made) => !existedBefore.has(made)).reverse()) {
      await rmdir(folder).catch(() => undefined);
      created.delete(folder);
    }
    if (error instanceof AgentError) {
      throw new AgentError(error.code, `Did not install: ${error.message}`, {
        hint: `Nothing was written. Found: ${found.join('; ')}. Point --app-dir at the folder with Immich's docker-compose.yml and .env, or check --uuid.`,
        details: error.details,
        cause: error,
      });
    }
    throw error;
  }
  await rename(candidate, file);
  return { file, written: true, found, check };
}
