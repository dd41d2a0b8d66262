import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { buildKitManifest, type KitFacts } from '../../../src/restore-kit/build-manifest.js';
import { restoreMd, type RestoreMdInput } from '../../../src/restore-kit/restore-md.js';
import { codeSpan, shellQuote } from '../../../src/restore-kit/text-quoting.js';

const serverId = `sha256:${'ab'.repeat(32)}`;
const databaseId = `sha256:${'12'.repeat(32)}`;

const facts = (over: Partial<KitFacts> = {}): KitFacts => ({
  agentVersion: '0.11.0',
  agentSha256: 'cd'.repeat(32),
  envImmichVersion: 'v2',
  serverContainer: 'immich_server',
  databaseContainer: 'immich_postgres',
  database: 'immich',
  databaseUser: 'postgres',
  env: { uploadLocation: './library', dbDataLocation: './postgres' },
  uploadMounts: ['/data'],
  postgresServerVersion: '17.2 (Debian 17.2-1.pgdg120+1)',
  server: {
    reference: 'ghcr.io/immich-app/immich-server:v2.7.5',
    id: serverId,
    repoDigests: [`ghcr.io/immich-app/immich-server@sha256:${'ef'.repeat(32)}`],
  },
  databaseImage: { reference: 'example/postgres:17-pgvector', id: databaseId, repoDigests: [] },
  savedIds: new Set(),
  composeFileName: 'docker-compose.yml',
  ...over,
});

const input = (
  over: Partial<RestoreMdInput> = {},
  factsOver: Partial<KitFacts> = {},
): RestoreMdInput => ({
  manifest: buildKitManifest(facts(factsOver)),
  appDir: '/opt/immich-app',
  libraryDir: '/srv/immich/library',
  backupFolder: 'immich-backup',
  hasAgent: true,
  ...over,
});

/** The text bash sees for one word: `printf %s <word>`, run by bash itself. */
function bashReads(word: string): string {
  const result = spawnSync('bash', ['-c', `printf %s ${word}`], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

const awkward = [
  '/srv/my photos',
  "/srv/it's here",
  '/srv/$(touch /tmp/restore-md-pwned)',
  '/srv/`id`',
  '/srv/📷 ``photos``',
  '/srv/"double" and \\ back',
  '/srv/line\nbreak',
  '`',
  ' leading space',
];

describe('RESTORE.md quoting', () => {
  for (const value of awkward) {
    test(`a shell word of ${JSON.stringify(value)} is read back by bash as exactly it`, () => {
      assert.equal(bashReads(shellQuote(value)), value);
    });
    test(`a code span of ${JSON.stringify(value)} cannot be closed by what is in it`, () => {
      const span = codeSpan(value);
      const fence = /^`+/.exec(span)?.[0] ?? '';
      const inner = span.slice(fence.length, span.length - fence.length);
      assert.ok(span.endsWith(fence));
      // No run of exactly the fence's length inside, and no line break.
      assert.ok(![...inner.matchAll(/`+/g)].some((run) => run[0].length === fence.length));
      assert.ok(!inner.includes('\n'));
    });
  }

  test('a library path with spaces, quotes, $(…), backticks and an emoji reaches the commands as one quoted word', () => {
    const libraryDir = "/srv/my 📷 `x` $(touch /tmp/restore-md-pwned) it's";
    const text = restoreMd(input({ libraryDir }));
    const line = text.split('\n').find((candidate) => candidate.startsWith('LIBRARY='));
    assert.ok(line, 'a LIBRARY= line');
    assert.equal(bashReads(line.slice('LIBRARY='.length)), libraryDir);
    assert.ok(text.includes(codeSpan(libraryDir)));
  });

  test('a database user with a quote and a container with $(…) stay data in the commands', () => {
    const text = restoreMd(input({}, { databaseUser: "o'brien", databaseContainer: 'db $(id)' }));
    assert.ok(text.includes("--username='o'\\''brien'"));
    assert.ok(text.includes("DB='db $(id)'"));
    assert.ok(!/docker exec -i db \$\(id\)/.test(text));
  });

  test('a value with a line break does not end a command line or the code block', () => {
    const text = restoreMd(input({ appDir: '/opt/app\n```\n# injected' }));
    assert.ok(!text.split('\n').includes('# injected'));
    assert.equal(text.split('\n').filter((line) => line.startsWith('```')).length, 4);
  });
});

describe('RESTORE.md content', () => {
  test('it names the version, both images with ids and digests, and the library', () => {
    const text = restoreMd(input());
    assert.ok(text.includes('Immich version: `v2.7.5`'));
    assert.ok(text.includes(serverId) && text.includes(databaseId));
    assert.ok(
      text.includes(`docker pull 'ghcr.io/immich-app/immich-server@sha256:${'ef'.repeat(32)}'`),
    );
    assert.ok(text.includes(`docker tag '${serverId}' 'ghcr.io/immich-app/immich-server:v2.7.5'`));
    assert.ok(text.includes('`/srv/immich/library`') && text.includes('`./library`'));
  });

  test('the commands come in their order: agent plan, then by hand set up, images, database, dump, files, start', () => {
    const text = restoreMd(input());
    const order = [
      'restore --from-drive --library "$LIBRARY" --app-dir "$APP"\n',
      '--app-dir "$APP" --yes',
      'mkdir -p "$APP" "$LIBRARY"',
      'cp "$BACKUP"/\'docker-compose.yml\' "$BACKUP/.env" "$APP/"',
      'docker pull',
      'docker compose create && docker start "$DB"',
      'SHOW listen_addresses',
      'gunzip --stdout "$DUMP"',
      '--single-transaction --set ON_ERROR_STOP=on',
      'rsync -a "$BACKUP/files/" "$LIBRARY/"',
      'docker compose up -d\n',
    ].map((needle) => text.indexOf(needle));
    assert.ok(
      order.every((at) => at >= 0),
      `all there: ${order.join(', ')}`,
    );
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
    );
  });

  test('a saved image is loaded from the kit, not pulled', () => {
    const text = restoreMd(input({}, { savedIds: new Set([databaseId]) }));
    assert.ok(
      text.includes(`docker load --input "$BACKUP/restore-kit/"'images/${'12'.repeat(32)}.tar.gz'`),
    );
    assert.ok(text.includes(`docker tag '${databaseId}' 'example/postgres:17-pgvector'`));
  });

  test('it holds no time: the same installation gives the same text at any hour', () => {
    const text = restoreMd(input());
    assert.equal(restoreMd(input()), text);
    assert.ok(!/\d{4}-\d{2}-\d{2}T|\d{1,2}:\d{2}:\d{2}/.test(text), 'no timestamp');
  });

  test('without the bundled agent it says so and keeps the way by hand', () => {
    const text = restoreMd(input({ hasAgent: false }));
    assert.ok(!text.includes('immich-backup-agent.mjs" restore'));
    assert.ok(text.includes('holds no copy of the agent'));
    assert.ok(text.includes('rsync -a "$BACKUP/files/" "$LIBRARY/"'));
  });
});
