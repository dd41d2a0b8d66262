import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { CatalogueAsset, ReferencedFile } from '../../../src/verify/immich-catalogue.js';
import { collectOriginals, type CatalogueSource } from '../../../src/verify/originals-catalogue.js';
import { readReadBackState } from '../../../src/verify/read-back-state.js';
import { verificationLine, verificationOf } from '../../../src/verify/read-back-status.js';
import { rollingReadBack } from '../../../src/verify/rolling-read-back.js';

const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');
const day = 24 * 60 * 60 * 1000;
const start = new Date('2026-01-04T02:05:00Z');

/** A catalogue as the dump reader reports it: 80 library originals, two external, a trashed one. */
function rows(): { assets: CatalogueAsset[]; referenced: ReferencedFile[] } {
  const assets: CatalogueAsset[] = [];
  for (let g = 1; g <= 80; g += 1) {
    assets.push({
      id: `00000000-0000-4000-8000-${String(g).padStart(12, '0')}`,
      originalPath: `/data/library/admin/2024/IMG_${g}.jpg`,
      checksum: sha1(`Immich test photo ${g}`),
      algorithm: 'sha1',
      isExternal: false,
      trashed: g === 5,
    });
  }
  for (const g of [81, 82]) {
    assets.push({
      id: `00000000-0000-4000-8000-${String(g).padStart(12, '0')}`,
      originalPath: `/mnt/external/Photos 2019/Trip ${g}/DSC_${g}.JPG`,
      checksum: sha1(`path:/mnt/external/Photos 2019/Trip ${g}/DSC_${g}.JPG`),
      algorithm: 'sha1-path',
      isExternal: true,
      trashed: false,
    });
  }
  return {
    assets,
    referenced: [
      { kind: 'thumbnail', path: '/data/thumbs/u/aa/bb/x-thumbnail.webp' },
      { kind: 'sidecar', path: '/data/library/admin/2024/IMG_25.jpg.xmp' },
      { kind: 'profile', path: '/data/profile/u/me.jpg' },
      { kind: 'sidecar', path: '/mnt/external/Photos 2019/Trip 81/DSC_81.JPG.xmp' },
    ],
  };
}

const source: CatalogueSource = (handlers) => {
  const { assets, referenced } = rows();
  for (const asset of assets) handlers.onAsset(asset);
  for (const file of referenced) handlers.onReferenced(file);
  return Promise.resolve();
};

describe('the catalogue the read-back works from', () => {
  test('library originals in ring order; external ones counted by their top folder', async () => {
    const catalogue = await collectOriginals(source, ['/data']);
    assert.equal(catalogue.originals.length, 80);
    assert.equal(catalogue.trashed, 1);
    assert.deepEqual(catalogue.outside, { count: 2, folders: ['/mnt/external/Photos 2019'] });
    const positions = catalogue.originals.map((entry) => entry.position);
    assert.deepEqual(
      positions,
      [...positions].sort((a, b) => a - b),
    );
    assert.deepEqual(catalogue.kept.map((file) => file.path).sort(), [
      'library/admin/2024/IMG_25.jpg.xmp',
      'profile/u/me.jpg',
    ]);
    assert.equal(catalogue.regenerable, 1);
    assert.equal(catalogue.keptOutside, 1);
  });
});

test('a dump without an asset table is refused, not taken for an empty library', async () => {
  await assert.rejects(
    collectOriginals(
      () => Promise.resolve({ assets: 0, referenced: 0, assetTable: null }),
      ['/data'],
    ),
    /no Immich asset table/,
  );
});

describe('a backup’s slice of the rolling read-back', () => {
  let root: string;
  let filesDir: string;
  let stateDir: string;
  const events: string[] = [];
  const log = pino(
    { level: 'info' },
    { write: (line: string) => events.push((JSON.parse(line) as { msg: string }).msg) },
  );

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'rolling-read-back-'));
    filesDir = path.join(root, 'files');
    stateDir = path.join(root, 'state');
    await mkdir(path.join(filesDir, 'library/admin/2024'), { recursive: true });
    for (let g = 1; g <= 80; g += 1)
      await writeFile(
        path.join(filesDir, `library/admin/2024/IMG_${g}.jpg`),
        `Immich test photo ${g}`,
      );
    // Bit rot in one original on the drive.
    await writeFile(path.join(filesDir, 'library/admin/2024/IMG_33.jpg'), 'Immich test phoTo 33');
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const runAt = (days: number, budgetSeconds = 300) =>
    rollingReadBack({
      stateDir,
      drive: { uuid: 'aaaa-bbbb', filesDir, filesystemType: 'ext4' },
      source,
      uploadMounts: ['/data'],
      fullCycleDays: 56,
      maxAgeDays: 7,
      budgetSeconds,
      now: () => new Date(start.getTime() + days * day),
      log,
    });

  test('eight weekly runs read an eighth each, name the flipped byte every run once found, and go round', async () => {
    const named: number[] = [];
    for (let week = 0; week < 8; week += 1) {
      const outcome = await runAt(week * 7);
      // Its eighth, and the original named before read again first (not twice in its own slice).
      const rereading = named.length > 0 && outcome.read.checkedFiles === 11;
      assert.ok(outcome.read.checkedFiles === 10 || rereading, `week ${week}`);
      assert.equal(outcome.reread, named.length > 0 && rereading ? 1 : 0);
      if (outcome.read.mismatches.names.includes('library/admin/2024/IMG_33.jpg')) named.push(week);
      assert.deepEqual(outcome.read.mismatches.names.length, named.length > 0 ? 1 : 0);
      assert.equal(outcome.completedCycle, week === 7);
      assert.equal(outcome.cycleCoverage, week === 7 ? 1 : ((week + 1) * 10) / 80);
    }
    assert.ok(named.length > 0, 'found');
    assert.deepEqual(
      named,
      Array.from({ length: 8 - (named[0] as number) }, (_, index) => (named[0] as number) + index),
      'named by every run from the one that found it on',
    );
    const state = await readReadBackState(stateDir, 'aaaa-bbbb');
    assert.equal(state?.lastFullCycleAt, new Date(start.getTime() + 49 * day).toISOString());
    assert.deepEqual(
      state?.problems.map((problem) => [problem.kind, problem.path]),
      [['mismatch', 'library/admin/2024/IMG_33.jpg']],
    );
    // Root's alone: 0600 in a 0700 folder.
    assert.equal(
      (await stat(path.join(stateDir, 'read-back', 'aaaa-bbbb.json'))).mode & 0o777,
      0o600,
    );
    assert.equal((await stat(path.join(stateDir, 'read-back'))).mode & 0o777, 0o700);
    const verification = verificationOf(state, new Date(start.getTime() + 50 * day));
    assert.equal(verification.coverage?.everyOriginalWithinDays, 50);
    assert.equal(verification.mismatches, 1);
    assert.equal(
      verificationLine(verification),
      'every original re-read within the last 50 days; 1 mismatch',
    );
    assert.ok(
      events.some((event) =>
        /Read back 10 originals .* at .*\/s against Immich's checksums/.test(event),
      ),
    );
  });

  test('a budget too small for the share: the cycle runs late, the log and status say so', async () => {
    events.length = 0;
    const outcome = await runAt(56, 0.000001);
    assert.equal(outcome.read.stoppedEarly, true);
    assert.equal(outcome.state.behind, true);
    assert.ok(
      events.some((event) => /the cycle runs late/.test(event)),
      events.join('\n'),
    );
    const line = verificationLine(
      verificationOf(outcome.state, new Date(start.getTime() + 57 * day)),
    );
    assert.match(line, /BEHIND/);
  });

  test('an original that reads well again is no longer named, at the next run', async () => {
    await writeFile(path.join(filesDir, 'library/admin/2024/IMG_33.jpg'), 'Immich test photo 33');
    const outcome = await runAt(58);
    assert.deepEqual(outcome.read.mismatches.names, []);
    assert.deepEqual(outcome.state.problems, []);
    await writeFile(path.join(filesDir, 'library/admin/2024/IMG_33.jpg'), 'Immich test phoTo 33');
  });

  test('the drive’s UUID in capitals (blkid on FAT) finds the same state', async () => {
    assert.notEqual(await readReadBackState(stateDir, 'AAAA-BBBB'), null);
  });

  test('a cycle started by a clock years ahead neither shrinks the shares nor proves anything', async () => {
    const clockRoot = path.join(root, 'clock');
    const runWith = (at: Date) =>
      rollingReadBack({
        stateDir: clockRoot,
        drive: { uuid: 'cccc-dddd', filesDir, filesystemType: 'ext4' },
        source,
        uploadMounts: ['/data'],
        fullCycleDays: 56,
        maxAgeDays: 7,
        budgetSeconds: 300,
        now: () => at,
        log,
      });
    // A cycle in 2099 (a late run completes it, a new one "starts" then); then the clock is right.
    await runWith(new Date('2099-01-01T00:00:00Z'));
    const late = await runWith(new Date('2099-03-01T00:00:00Z'));
    assert.equal(late.completedCycle, true);
    const back = new Date(start.getTime() + 70 * day);
    const outcome = await runWith(back);
    assert.ok(outcome.read.checkedFiles >= 10, `an eighth at least: ${outcome.read.checkedFiles}`);
    assert.equal(outcome.state.cycleStartedAt, back.toISOString(), 'the cycle starts again now');
    const verification = verificationOf(outcome.state, back);
    assert.equal(
      verification.coverage?.everyOriginalWithinDays,
      null,
      'a future time proves nothing',
    );
  });

  test('a state file that is not one starts a cycle anew instead of failing', async () => {
    const file = path.join(stateDir, 'read-back', 'aaaa-bbbb.json');
    await writeFile(file, '{"version": 1, "cursor": "../../etc"}');
    assert.equal(await readReadBackState(stateDir, 'aaaa-bbbb'), null);
    const outcome = await runAt(60);
    assert.equal(outcome.from, 0);
    assert.match(await readFile(file, 'utf8'), /"version":1/);
  });
});

describe('status tells the read-back from the state file', () => {
  test('nothing yet, a cycle under way, problems named', () => {
    assert.equal(
      verificationLine(verificationOf(null, start)),
      'no original re-read against Immich’s checksums yet',
    );
    const line = verificationLine({
      lastFullCycleAt: null,
      coverage: {
        cycleStartedAt: start.toISOString(),
        share: 0.384,
        everyOriginalWithinDays: null,
        behind: false,
        lastReadAt: start.toISOString(),
      },
      mismatches: 0,
      missing: 2,
      names: ['a', 'b'],
    });
    assert.equal(
      line,
      'not every original re-read yet: 38% of this cycle; 0 mismatches, 2 missing',
    );
  });
});
