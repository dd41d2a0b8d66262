import type { KitImage, KitManifest } from './kit-manifest.js';
import { byHand, variables, type RestoreMdInput } from './restore-md-by-hand.js';
import { codeSpan as code, shellQuote as word } from './text-quoting.js';

export type { RestoreMdInput } from './restore-md-by-hand.js';

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
    `- Immich version: ${immichVersion(immich.version)}`,
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

/** A version that names one release (`v2.7.5`), not a tag that moves (`release`, `v2`). */
function isExactVersion(version: string | null): version is string {
  return version !== null && /^v?\d+\.\d+\.\d+$/.test(version);
}

function immichVersion(version: string | null): string {
  if (version === null) return 'not known';
  if (isExactVersion(version)) return code(version);
  return `not known exactly: the tag ${code(version)} is floating (it names whatever Immich released last under it); the server's image id below is the exact one`;
}

function image(kitImage: KitImage | null): string {
  if (kitImage === null) return 'image not known';
  const digests = kitImage.repoDigests.length
    ? `pulled as ${kitImage.repoDigests.map(code).join(', ')}`
    : 'not from a registry (no digest)';
  const saved = kitImage.saved ? `; saved in this kit as ${code(kitImage.saved)}` : '';
  return `image ${code(kitImage.reference)} (id ${code(kitImage.id)}), ${digests}${saved}`;
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
    'The agent in this folder needs nothing but Node. Run it as root (`sudo -i`): the drive’s',
    '`.env` can be read by root only, and Docker needs root. Without `--yes` it prints its plan and',
    'changes nothing; read it, then run it again with `--yes`. It checks the dump, sets up the app',
    'folder from the drive, loads or pulls the exact images, restores the database the way Immich',
    'documents it and copies the library back.',
    '',
    '```bash',
    ...variables(input),
    'node "$BACKUP/restore-kit/immich-backup-agent.mjs" restore --from-drive --library "$LIBRARY" --app-dir "$APP"',
    'node "$BACKUP/restore-kit/immich-backup-agent.mjs" restore --from-drive --library "$LIBRARY" --app-dir "$APP" --yes',
    '```',
  ];
}

function afterwards(manifest: KitManifest): string[] {
  const { immich } = manifest;
  return [
    '## What to check afterwards',
    '',
    `- \`docker compose ps\` shows ${code(immich.serverContainer)} and ${code(immich.databaseContainer)} running (healthy).`,
    `- ${code(`docker logs ${word(immich.serverContainer)}`)} ends without errors (no failed migration).`,
    isExactVersion(immich.version)
      ? `- Immich's web page, Administration → Server, shows version ${code(immich.version)}.`
      : "- Immich's web page, Administration → Server, shows the version the old server showed.",
    '- Sign in: the photos, albums and people are there, and an original opens at full size',
    '  (not just its thumbnail). Missing thumbnails come back with the "Generate Thumbnails"',
    '  job (Administration → Jobs, "Missing").',
    '- Set up backups again on the new machine (install immich-backup-agent), to another drive',
    '  or to this one once you are sure the restore is good.',
  ];
}
