import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { databaseWaitTries } from '../../../src/restore-kit/restore-md-by-hand.js';
import { restoreMd } from '../../../src/restore-kit/restore-md.js';
import { shellQuote } from '../../../src/restore-kit/text-quoting.js';
import { byHandSection, guideBlocks } from '../../env/restore-md-blocks.js';
import { databaseId, input } from './restore-md-input.js';

const pinned = `ghcr.io/immich-app/postgres:14-vectorchord0.4.3-pgvectors0.2.0@sha256:${'bc'.repeat(32)}`;
const pinnedTag = pinned.slice(0, pinned.indexOf('@'));
const work = mkdtempSync(path.join(tmpdir(), 'restore-md-by-hand-'));
after(() => rmSync(work, { recursive: true, force: true }));

const blocksOf = (text: string) => guideBlocks(byHandSection(text));
const bashBlocks = (text: string) => blocksOf(text).filter((block) => block.label === 'bash');

/** Runs bash on `script` in `dir`, with `bin/` first in PATH (its fakes stand in for tools). */
function bash(dir: string, script: string) {
  return spawnSync('bash', ['-c', script], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${path.join(dir, 'bin')}:${process.env.PATH ?? ''}` },
  });
}

/** A fake tool in dir/bin that logs its arguments to dir/calls and runs `body`. */
function fake(dir: string, name: string, body: string): void {
  mkdirSync(path.join(dir, 'bin'), { recursive: true });
  const file = path.join(dir, 'bin', name);
  writeFileSync(
    file,
    `#!/bin/bash\necho "${name} $*" >> ${shellQuote(path.join(dir, 'calls'))}\n${body}\n`,
  );
  chmodSync(file, 0o755);
}

describe('RESTORE.md by hand: blocks a newcomer pastes one at a time', () => {
  test('says to work as root, lists rsync, keeps the editor out of the commands', () => {
    const section = byHandSection(restoreMd(input()));
    assert.match(section, /as root\s+\(`sudo -i`\)/);
    assert.match(section, /rsync/);
    const blocks = blocksOf(restoreMd(input()));
    assert.deepEqual(
      blocks.map((block) => block.label),
      ['bash', 'dotenv', 'bash', 'bash', 'bash'],
    );
    for (const block of bashBlocks(restoreMd(input()))) {
      assert.doesNotMatch(block.body, /\bnano\b|\bvi\b/, block.step);
      const syntax = spawnSync('bash', ['-n'], { input: block.body, encoding: 'utf8' });
      assert.equal(syntax.status, 0, `${block.step}: ${syntax.stderr}`);
    }
    assert.deepEqual(blocksOf(restoreMd(input()))[1]?.body.split('\n'), [
      "UPLOAD_LOCATION='<LIBRARY>'",
      "DB_DATA_LOCATION='<APP>/postgres'",
    ]);
  });

  test('a database that never answers: the wait gives up after its tries, shows the error, and nothing after it runs', () => {
    const dir = mkdtempSync(path.join(work, 'never-'));
    fake(
      dir,
      'docker',
      '[ "$1" = exec ] && { echo "Error response from daemon: No such container: $2" >&2; exit 1; }; exit 0',
    );
    fake(dir, 'sleep', 'exit 0');
    fake(dir, 'rsync', 'exit 0');
    const [, , four, five] = bashBlocks(restoreMd(input()));
    const result = bash(
      dir,
      `cd ${shellQuote(dir)}; APP=${shellQuote(dir)}; BACKUP=/nonexistent; DB=db\n${four?.body}\n${five?.body}`,
    );
    assert.match(
      result.stdout,
      /Database ready: no \(its last answer: Error response from daemon: No such container: db\)/,
    );
    assert.match(result.stdout, /STOPPED/);
    const calls = readFileSync(path.join(dir, 'calls'), 'utf8').split('\n');
    assert.equal(calls.filter((call) => call.startsWith('docker exec')).length, databaseWaitTries);
    assert.ok(
      !calls.some((call) => call.startsWith('rsync') || call.includes('compose up -d')),
      calls.join('\n'),
    );
  });

  test('a dump psql rejects: the library is not copied and the server not started', () => {
    const dir = mkdtempSync(path.join(work, 'rejected-'));
    writeFileSync(
      path.join(dir, 'immich-db-2026-01-02.sql.gz'),
      spawnSync('gzip', { input: 'SELECT 1;\n' }).stdout,
    );
    // `exec -i` is the restore (psql stops: ON_ERROR_STOP); the wait's exec answers `*`.
    fake(
      dir,
      'docker',
      'cat > /dev/null; [ "$1 $2" = "exec -i" ] && { echo "ERROR: relation exists" >&2; exit 3; }; [ "$1" = exec ] && echo "*"; exit 0',
    );
    fake(dir, 'rsync', 'exit 0');
    const [, , four, five] = bashBlocks(restoreMd(input()));
    const result = bash(
      dir,
      `APP=${shellQuote(dir)}; BACKUP=${shellQuote(dir)}; DB=db\n${four?.body}\n${five?.body}`,
    );
    assert.match(result.stdout, /Database ready: yes/);
    assert.match(result.stdout, /STOPPED/);
    assert.doesNotMatch(result.stdout, /The database is restored/);
    const calls = readFileSync(path.join(dir, 'calls'), 'utf8');
    assert.match(calls, /^docker exec -i db psql/m);
    assert.doesNotMatch(calls, /^rsync|compose up -d/m);
  });

  test('a digest-pinned image loaded from the kit: tagged name:tag and the digest taken off its compose line', () => {
    const text = restoreMd(
      input(
        {},
        {
          savedIds: new Set([databaseId]),
          databaseImage: { reference: pinned, id: databaseId, repoDigests: [] },
        },
      ),
    );
    assert.match(text, /An image loaded from a file has no registry digest/);
    assert.ok(text.includes(`docker tag '${databaseId}' '${pinnedTag}'`));
    assert.ok(!text.includes(`docker tag '${databaseId}' '${pinned}'`));
    const images = bashBlocks(text)[1]?.body ?? '';
    const dir = mkdtempSync(path.join(work, 'pinned-'));
    fake(dir, 'docker', 'exit 0');
    const compose = [
      'services:',
      '  database:',
      `    image: ${pinned}`,
      '  other:',
      `    image: '${pinned}'`,
      `    # image: ${pinned}`,
      `    labels: [${pinned}]`,
      '',
    ].join('\n');
    writeFileSync(path.join(dir, 'docker-compose.yml'), compose);
    const result = bash(dir, `APP=${shellQuote(dir)}; BACKUP=/kit\n${images}`);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`Ready: ${pinned.replaceAll('.', '\\.')}`));
    assert.equal(
      readFileSync(path.join(dir, 'docker-compose.yml'), 'utf8'),
      compose
        .replace(`    image: ${pinned}`, `    image: ${pinnedTag}`)
        .replace(`    image: '${pinned}'`, `    image: '${pinnedTag}'`),
    );
  });

  test('a digest-pinned image pulled by its digest needs no change to the compose file', () => {
    const digest = `ghcr.io/immich-app/postgres@sha256:${'bc'.repeat(32)}`;
    const text = restoreMd(
      input({}, { databaseImage: { reference: pinned, id: databaseId, repoDigests: [digest] } }),
    );
    assert.ok(
      text.includes(`docker pull '${digest}' && docker tag '${databaseId}' '${pinnedTag}'`),
    );
    assert.doesNotMatch(text, /sed -i/);
  });

  test('an image named by digest alone and saved here: it says plainly compose pulls it', () => {
    const byDigest = `example/db@sha256:${'bc'.repeat(32)}`;
    const text = restoreMd(
      input(
        {},
        {
          savedIds: new Set([databaseId]),
          databaseImage: { reference: byDigest, id: databaseId, repoDigests: [] },
        },
      ),
    );
    assert.match(text, /compose will pull it from its registry/);
    assert.doesNotMatch(text, /docker tag '[^']+' 'example\/db/);
  });

  test('a floating tag is not given as the version', () => {
    const text = restoreMd(
      input(
        {},
        {
          envImmichVersion: 'release',
          server: {
            reference: 'ghcr.io/immich-app/immich-server:release',
            id: databaseId,
            repoDigests: [],
          },
        },
      ),
    );
    assert.match(text, /the tag `release` is floating/);
    assert.doesNotMatch(text, /shows version `release`/);
    assert.match(restoreMd(input()), /Immich version: `v2\.7\.5`/);
  });
});
