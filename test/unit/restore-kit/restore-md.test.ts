import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { restoreMd } from '../../../src/restore-kit/restore-md.js';
import { codeSpan, shellQuote } from '../../../src/restore-kit/text-quoting.js';
import { databaseId, input, serverId } from './restore-md-input.js';

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
  '/srv/\u202eevil\u2066gpj.exe\u2069',
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
      assert.ok(!/[\u202a-\u202e\u2066-\u2069]/.test(span), 'no bidirectional control shown raw');
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
    const fences = (text: string) => text.split('\n').filter((line) => line.startsWith('```'));
    const text = restoreMd(input({ appDir: '/opt/app\n```\n# injected' }));
    assert.ok(!text.split('\n').includes('# injected'));
    assert.deepEqual(fences(text), fences(restoreMd(input())));
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
      'docker compose up --no-start && docker start "$DB"',
      'SHOW listen_addresses',
      'gunzip --stdout "$DUMP"',
      '--single-transaction --set ON_ERROR_STOP=on',
      `-c 'ALTER DATABASE "immich" SET search_path TO "$user", public, vectors;'`,
      'rsync -a "$BACKUP/files/" "$LIBRARY/"',
      'docker compose up -d &&',
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

  test('it holds no time: the same installation gives the same text at any hour', (t) => {
    const at = (iso: string): string => {
      t.mock.timers.enable({ apis: ['Date'], now: new Date(iso) });
      try {
        return restoreMd(input());
      } finally {
        t.mock.timers.reset();
      }
    };
    const text = at('2026-01-02T03:04:05Z');
    assert.equal(at('2031-11-22T23:58:59Z'), text);
    assert.ok(!/\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}:\d{2}/.test(text), 'no date or time');
  });

  test('without the bundled agent it says so and keeps the way by hand', () => {
    const text = restoreMd(input({ hasAgent: false }));
    assert.ok(!text.includes('immich-backup-agent.mjs" restore'));
    assert.ok(text.includes('holds no copy of the agent'));
    assert.ok(text.includes('rsync -a "$BACKUP/files/" "$LIBRARY/"'));
  });
});
