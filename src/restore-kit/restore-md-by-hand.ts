import type { KitImage, KitManifest } from './kit-manifest.js';
import { taggedName } from './kit-images-load.js';
import { codeSpan as code, shellQuote as word } from './text-quoting.js';

/**
 * RESTORE.md's way by hand, in blocks a person pastes one at a time into one root shell: each
 * ends by saying it is done, or `STOPPED` at the first failure, and what depends on the database
 * being restored (copying the library, starting the server, which would otherwise create an
 * empty Immich) runs only after it, in one `&&` chain. The placeholders a reader fills are the
 * drive's mount point (`/media/backup-drive`), APP and LIBRARY, and `<APP>`/`<LIBRARY>` in
 * `.env`'s two lines.
 */

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

/** Tries (one a second) the wait for the database's real server gets. */
export const databaseWaitTries = 120;
const stopped = `|| echo 'STOPPED: fix what the error above says before going on.'`;

/** The variables every command uses: set them once, for the new machine. */
export function variables({
  manifest,
  appDir,
  libraryDir,
  backupFolder,
}: RestoreMdInput): string[] {
  return [
    '# Where the drive is mounted now (replace /media/backup-drive), then the backup folder on it:',
    `BACKUP=/media/backup-drive/${word(backupFolder)}`,
    '# The new app folder and library folder (here: where they were on the old machine):',
    `APP=${word(appDir)}`,
    `LIBRARY=${word(libraryDir)}`,
    `DB=${word(manifest.immich.databaseContainer)}`,
  ];
}

export function byHand(input: RestoreMdInput): string[] {
  const { immich, layout, images } = input.manifest;
  const composeFile = layout.compose;
  const psql = `psql --username=${word(immich.databaseUser)} --dbname=${word(immich.database)}`;
  const searchPath = `ALTER DATABASE "${immich.database.replaceAll('"', '""')}" SET search_path TO "$user", public, vectors;`;
  // One image for both (the same id, one file) is loaded once.
  const loaded = new Set<string>();
  const imageLines = [images.server, images.database].flatMap((image) => {
    const lines = imageCommands(image, composeFile, loaded);
    if (image?.saved) loaded.add(image.saved);
    return lines;
  });
  return [
    '## By hand, without the agent',
    '',
    'You need bash, Docker with Docker Compose (`docker compose`), rsync and gzip. Work as root',
    '(`sudo -i`): the drive’s `.env` can be read by root only, and Docker needs root. Paste the',
    'blocks below one at a time, in order, into the same terminal. Each ends by saying what it',
    'did, or with `STOPPED` at the first error: then fix what the error says before going on.',
    '',
    '### 1. The folders, the compose file and `.env`',
    '',
    'Replace `/media/backup-drive` with the folder the drive is mounted on now, and choose the new',
    'app and library folders (`APP`, `LIBRARY`).',
    '',
    '```bash',
    ...variables(input),
    `mkdir -p "$APP" "$LIBRARY" && cp "$BACKUP"/${word(composeFile)} "$BACKUP/.env" "$APP/" && echo "Copied into $APP" ${stopped}`,
    '```',
    '',
    '### 2. Point `.env` at the new folders',
    '',
    'Open `$APP/.env` in a text editor (for example `nano "$APP/.env"`) and make its',
    '`UPLOAD_LOCATION` and `DB_DATA_LOCATION` lines read as follows (add them if missing):',
    '',
    '```dotenv',
    "UPLOAD_LOCATION='<LIBRARY>'",
    "DB_DATA_LOCATION='<APP>/postgres'",
    '```',
    '',
    'with `<LIBRARY>` and `<APP>` replaced by the full paths you set `LIBRARY` and `APP` to',
    '(`echo "$LIBRARY"; echo "$APP"` prints them). Keep the single quotes: inside them compose',
    "takes a path as written (spaces, `$`, `#`); a path with a `'` in it cannot be written there,",
    'choose another folder. The database folder must not exist yet (or be empty): the database',
    'starts empty and the dump fills it. Leave the other lines (the Immich version, the database',
    'password) as they are.',
    '',
    '### 3. The images',
    '',
    'The exact images the backup ran, loaded from this kit when it holds them, else pulled by',
    'digest, and given the names the compose file uses, so compose uses them instead of pulling',
    'what those names mean today. Compose pulls the other images (redis, machine learning).',
    ...digestNote(images, composeFile),
    '',
    '```bash',
    ...imageLines,
    '```',
    '',
    '### 4. Start the database alone',
    '',
    'Compose creates the containers; only the database starts. Its image first runs a temporary',
    'server while it initialises: the loop waits (at most two minutes) for the real one, which',
    'answers with the addresses it listens on, and shows the last answer or error.',
    '',
    '```bash',
    'DB_READY=no; answer=',
    `cd "$APP" && docker compose up --no-start && docker start "$DB" && for try in $(seq ${databaseWaitTries}); do`,
    `  if answer=$(docker exec "$DB" ${psql} -Atc 'SHOW listen_addresses' 2>&1) && [ -n "$answer" ]; then DB_READY=yes; break; fi`,
    '  sleep 1',
    'done; echo "Database ready: $DB_READY (its last answer: ${answer:-none})"',
    '```',
    '',
    '### 5. Restore the database, copy the library, start Immich',
    '',
    'The newest dump (the names sort by date) goes into the fresh database as Immich documents',
    'it, in one transaction that stops at the first error (then nothing is kept). The `sed` is',
    'Immich’s search_path fix, applied to the first such line only (the dump’s header), so no row',
    'of your data changes. A dump of one database does not carry the database’s own settings:',
    'the `ALTER DATABASE` puts back the search_path Immich’s migration set (which it does not run',
    'again). Only when all that worked is the library copied back and Immich started:',
    'a server started on the empty database would create a new, empty Immich in it. If it',
    'failed, run `docker compose down` in `$APP`, empty the database folder and go back to 4.',
    '',
    '```bash',
    'DUMP=$(ls -1 "$BACKUP"/immich-db-*.sql.gz | LC_ALL=C sort | tail -n 1); echo "Newest dump: $DUMP"',
    '[ "$DB_READY" = yes ] && (',
    '  set -o pipefail',
    '  gunzip --stdout "$DUMP" \\',
    `    | sed "0,/^SELECT pg_catalog.set_config('search_path', '', false);\\$/s//SELECT pg_catalog.set_config('search_path', 'public, pg_catalog', true);/" \\`,
    `    | docker exec -i "$DB" ${psql} --single-transaction --set ON_ERROR_STOP=on >/dev/null`,
    ') && echo "The database is restored from $DUMP." \\',
    `  && docker exec "$DB" ${psql} -c ${word(searchPath)} \\`,
    '  && rsync -a "$BACKUP/files/" "$LIBRARY/" && echo "The library is copied into $LIBRARY." \\',
    `  && cd "$APP" && docker compose up -d && echo 'Immich is starting: see "What to check afterwards".' \\`,
    `  ${stopped}`,
    '```',
  ];
}

/** What a digest-pinned reference needs (Immich pins its database image so). */
function digestNote(
  images: { server: KitImage | null; database: KitImage | null },
  composeFile: string,
): string[] {
  const pinned = [images.server, images.database].some(
    (image) => image?.saved && image.reference.includes('@'),
  );
  if (!pinned) return [];
  return [
    'An image loaded from a file has no registry digest, so a compose line that pins one',
    `(\`name:tag@sha256:…\`) would still pull it: the \`sed\` takes the \`@sha256:…\` off that line of`,
    `${code(composeFile)}, leaving the tag, now given to the very image the digest named. If your`,
    'compose file writes that image with a variable, take the `@sha256:…` off by hand.',
  ];
}

function imageCommands(
  kitImage: KitImage | null,
  composeFile: string,
  loaded: ReadonlySet<string>,
): string[] {
  if (kitImage === null) return ['# An image that was not known: compose pulls it by its name.'];
  const { reference, id, saved } = kitImage;
  const tagged = taggedName(reference);
  const ready = `echo ${word(`Ready: ${reference}`)} ${stopped}`;
  if (saved) {
    const load = loaded.has(saved)
      ? `docker image inspect ${word(id)} >/dev/null`
      : `docker load --input "$BACKUP/restore-kit/"${word(saved)}`;
    if (tagged === null) {
      return [
        `# ${word(reference)} names its image by digest alone, which a loaded image cannot have:`,
        '# compose will pull it from its registry.',
      ];
    }
    const tag = `docker tag ${word(id)} ${word(tagged)}`;
    if (!reference.includes('@')) return [`${load} && ${tag} && ${ready}`];
    const unpin = `sed -i ${word(unpinScript(reference, tagged))} "$APP/"${word(composeFile)}`;
    return [`${load} && ${tag} \\`, `  && ${unpin} \\`, `  && ${ready}`];
  }
  const digest = kitImage.repoDigests[0];
  if (digest === undefined) {
    return [
      `# ${word(reference)} was not pulled from a registry and is not saved here: compose uses`,
      '# an image of that name on this machine, else pulls what the name means now (maybe another).',
    ];
  }
  // Pulled by digest it has that digest, so a pinned reference finds it; a tag is pointed at it.
  const tag = tagged === null ? '' : ` && docker tag ${word(id)} ${word(tagged)}`;
  return [`docker pull ${word(digest)}${tag} && ${ready}`];
}

/**
 * sed's script that rewrites the compose line `image: <reference>` (optionally quoted) to
 * `image: <tagged>`, and no other line. A reference holds only [A-Za-z0-9._-/:@] (the kit's
 * schema): `.` is the one character special to sed's regex, and `#` is not in it.
 */
export function unpinScript(reference: string, tagged: string): string {
  const literal = reference.replaceAll('.', '\\.');
  const quote = `["']\\{0,1\\}`;
  return `s#^\\([[:space:]]*image:[[:space:]]*${quote}\\)${literal}\\(${quote}[[:space:]]*\\)$#\\1${tagged}\\2#`;
}
