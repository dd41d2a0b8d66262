import { databaseConninfo } from '../adapters/database-info.js';
import type { KitImage, KitManifest } from './kit-manifest.js';
import { codeSpan as code, shellQuote as word } from './text-quoting.js';

/** What RESTORE.md says beyond the manifest: where things were on this machine. */
export interface RestoreMdInput {
  manifest: KitManifest;
  /** The Immich app folder (compose file and .env) on this machine. */
  appDir: string;
  /** The library folder (UPLOAD_LOCATION, resolved) on this machine. */
  libraryDir: string;
  /** The backup folder, relative to the drive's root (drive.backupDir). */
  backupFolder: string;
  /** Does the kit hold the bundled agent? */
  hasAgent: boolean;
}

/**
 * RESTORE.md: how to bring this Immich back on a new machine from the drive alone, in words and
 * commands, with this installation's names, versions and images. It holds no time and nothing of
 * one run, so it is the same text until the installation changes (and is not rewritten). Every
 * value from `.env` or compose is a code span in prose and one quoted word in a command.
 */
export function restoreMd(input: RestoreMdInput): string {
  const { manifest } = input;
  return [
    '# Restoring Immich from this drive',
    '',
    'Written by immich-backup-agent for the Immich installation it backs up. This folder',
    '(`restore-kit/`) sits in the backup folder; beside it are the database dumps',
    '(`immich-db-*.sql.gz`), the library (`files/`), the compose file and `.env`.',
    '',
    ...installation(input),
    '',
    ...withTheAgent(input),
    '',
    ...byHand(input),
    '',
    ...afterwards(manifest),
    '',
  ].join('\n');
}

function installation({ manifest, appDir, libraryDir }: RestoreMdInput): string[] {
  const { immich, postgres, images } = manifest;
  const optional = (value: string | null): string => (value === null ? 'not known' : code(value));
  return [
    '## This installation',
    '',
    `- Immich version: ${optional(immich.version)}`,
    `- Server container ${code(immich.serverContainer)}, ${image(images.server)}`,
    `- Database container ${code(immich.databaseContainer)}, ${image(images.database)}`,
    `- PostgreSQL: ${optional(postgres.serverVersion)}; database ${code(immich.database)}, user ${code(immich.databaseUser)}`,
    `- App folder (compose file and \`.env\`): ${code(appDir)}`,
    `- Library (\`UPLOAD_LOCATION\` in \`.env\`: ${optional(immich.uploadLocation)}): ${code(libraryDir)}.`,
    `  The originals are in its \`library/\` (with the storage template) and \`upload/\` folders;`,
    `  the server sees the library at ${immich.uploadMounts.map(code).join(', ') || 'not known'}.`,
    `  The drive's \`files/\` is a copy of the whole library folder.`,
    `- Database files (\`DB_DATA_LOCATION\` in \`.env\`): ${optional(immich.dbDataLocation)}`,
    `- This kit's agent: version ${code(manifest.agent.version)}, ${code(manifest.agent.file)} (needs only Node 20.19 or later)`,
  ];
}

function image(kitImage: KitImage | null): string {
  if (kitImage === null) return 'image not known';
  const digests = kitImage.repoDigests.length
    ? `pulled as ${kitImage.repoDigests.map(code).join(', ')}`
    : 'not from a registry (no digest)';
  const saved = kitImage.saved ? `; saved in this kit as ${code(kitImage.saved)}` : '';
  return `image ${code(kitImage.reference)} (id ${code(kitImage.id)}), ${digests}${saved}`;
}

/** The variables every command below uses: set them once, for the new machine. */
function variables({ manifest, appDir, libraryDir, backupFolder }: RestoreMdInput): string[] {
  return [
    '# Where the drive is mounted now, then the backup folder on it:',
    `BACKUP=/media/backup-drive/${word(backupFolder)}`,
    '# The new app folder and library folder (here: where they were on the old machine):',
    `APP=${word(appDir)}`,
    `LIBRARY=${word(libraryDir)}`,
    `DB=${word(manifest.immich.databaseContainer)}`,
  ];
}

function withTheAgent(input: RestoreMdInput): string[] {
  if (!input.hasAgent) {
    return [
      '## With the agent',
      '',
      'This kit holds no copy of the agent (it was not found when the kit was written): restore',
      'by hand, below, or install immich-backup-agent and run `immich-backup-agent restore --help`.',
    ];
  }
  return [
    '## With the agent (Docker, Docker Compose and Node 20.19 or later installed)',
    '',
    'The agent in this folder needs nothing but Node. Without `--yes` it prints its plan and',
    'changes nothing; read it, then run it again with `--yes`. It checks the dump, sets up the app',
    'folder from the drive, loads or pulls the exact images, restores the database the way Immich',
    'documents it and copies the library back.',
    '',
    '```sh',
    ...variables(input),
    'node "$BACKUP/restore-kit/immich-backup-agent.mjs" restore --from-drive --library "$LIBRARY" --app-dir "$APP"',
    'node "$BACKUP/restore-kit/immich-backup-agent.mjs" restore --from-drive --library "$LIBRARY" --app-dir "$APP" --yes',
    '```',
  ];
}

function byHand(input: RestoreMdInput): string[] {
  const { immich, layout, images } = input.manifest;
  // A name with `=` would be a connection string to psql: then it is given as one that names it.
  const dbname = immich.database.includes('=')
    ? databaseConninfo(immich.database)
    : immich.database;
  const psql = `psql --username=${word(immich.databaseUser)} --dbname=${word(dbname)}`;
  return [
    '## By hand, without the agent (bash, Docker and Docker Compose installed)',
    '',
    '1. Set the variables, make the folders and copy the compose file and `.env` from the drive.',
    `2. In \`$APP/.env\`, set \`UPLOAD_LOCATION\` to the library folder (\`$LIBRARY\`) and`,
    '   `DB_DATA_LOCATION` to a new, empty folder: the database starts empty and the dump fills it.',
    '3. Get the exact images the backup ran (loaded from this kit when saved here, else pulled by',
    '   digest), tagged with the names the compose file uses, so compose pulls nothing else.',
    '4. Create the containers and start only the database; wait for its real server (the image',
    '   first runs a temporary one while it initialises).',
    '5. Restore the newest dump into the fresh database as Immich documents it, in one transaction',
    '   that stops at the first error (then nothing is kept). The `sed` is Immich’s search_path fix,',
    '   applied to the first such line only (the dump’s header), so no row of your data changes.',
    '   The server must not have started yet; if it has, stop everything, empty `DB_DATA_LOCATION`',
    '   and start again from step 4.',
    '6. Copy the library back, then start everything.',
    '',
    '```sh',
    ...variables(input),
    'mkdir -p "$APP" "$LIBRARY"',
    `cp "$BACKUP"/${word(layout.compose)} "$BACKUP/.env" "$APP/"`,
    'nano "$APP/.env"   # step 2',
    ...[images.server, images.database].flatMap(imageCommands),
    'cd "$APP" && docker compose create && docker start "$DB"',
    `until [ -n "$(docker exec "$DB" ${psql} -Atc 'SHOW listen_addresses' 2>/dev/null)" ]; do sleep 1; done`,
    '# The newest dump (names sort by date; its .json sidecar has the highest "sequence"):',
    'DUMP=$(ls -1 "$BACKUP"/immich-db-*.sql.gz | LC_ALL=C sort | tail -n 1); echo "$DUMP"',
    'gunzip --stdout "$DUMP" \\',
    `  | sed "0,/^SELECT pg_catalog.set_config('search_path', '', false);\\$/s//SELECT pg_catalog.set_config('search_path', 'public, pg_catalog', true);/" \\`,
    `  | docker exec -i "$DB" ${psql} --single-transaction --set ON_ERROR_STOP=on`,
    'rsync -a "$BACKUP/files/" "$LIBRARY/"',
    'docker compose up -d',
    '```',
  ];
}

function imageCommands(kitImage: KitImage | null): string[] {
  if (kitImage === null)
    return ['# An image that was not known: docker compose pulls it by its tag.'];
  const get = kitImage.saved
    ? [`docker load --input "$BACKUP/restore-kit/"${word(kitImage.saved)}`]
    : kitImage.repoDigests.slice(0, 1).map((digest) => `docker pull ${word(digest)}`);
  if (get.length === 0) {
    return [
      `# ${word(kitImage.reference)} was not pulled from a registry and is not saved here:`,
      '# docker compose pulls what its tag names now, which may be another image.',
    ];
  }
  // A reference with a digest is its own name; a tag is given to the very image (by its id).
  const tag = kitImage.reference.includes('@')
    ? []
    : [`docker tag ${word(kitImage.id)} ${word(kitImage.reference)}`];
  return [...get, ...tag];
}

function afterwards(manifest: KitManifest): string[] {
  const { immich } = manifest;
  return [
    '## What to check afterwards',
    '',
    `- \`docker compose ps\` shows ${code(immich.serverContainer)} and ${code(immich.databaseContainer)} running (healthy).`,
    `- ${code(`docker logs ${word(immich.serverContainer)}`)} ends without errors (no failed migration).`,
    `- Immich's web page, Administration → Server, shows version ${immich.version === null ? '(not known)' : code(immich.version)}.`,
    '- Sign in: the photos, albums and people are there, and an original opens at full size',
    '  (not just its thumbnail). Missing thumbnails come back with the "Generate Thumbnails"',
    '  job (Administration → Jobs, "Missing").',
    '- Set up backups again on the new machine (install immich-backup-agent), to another drive',
    '  or to this one once you are sure the restore is good.',
  ];
}
