import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { localDate } from '../../src/format.js';
import { isRunning } from '../env/containers.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { containerStartedAt, withDriveMounted } from '../env/inspect.js';
import { snapshotTree } from '../env/library.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

const exempt = (file: string): boolean =>
  file.startsWith('thumbs/') || file.startsWith('encoded-video/');

describe('never lose a good copy: versions and the mass-change guard', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  const today = localDate(new Date());
  const yesterday = localDate(new Date(Date.now() - 24 * 60 * 60 * 1000));
  const changed = [
    'upload/3f1c9a7e-1111-4222-8333-444455556666/00/IMG_0.jpg',
    'upload/3f1c9a7e-1111-4222-8333-444455556666/01/IMG_1.jpg',
    'library/admin/2024/Ünïcödé 📷 Ferien am Meer.heic',
  ];
  const oldContent = new Map<string, Buffer>();

  /** The drive's backup, without the runs' own records (a refused run still records itself). */
  async function driveTree(): Promise<Map<string, string>> {
    return withDriveMounted(sandbox, bed.drive, async (root) => {
      const tree = await snapshotTree(path.join(root, 'immich-backup'));
      for (const key of [...tree.keys()])
        if (key.startsWith('.immich-backup-agent/')) tree.delete(key);
      return tree;
    });
  }

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 200, assets: 100 });
    const first = await bed.run('run');
    assert.equal(first.exitCode, 0, first.stdout + first.stderr);
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('changing 3 originals keeps their old copies in versions/<date>/ and puts the new ones in files/', async () => {
    for (const file of changed) {
      oldContent.set(file, await readFile(path.join(bed.libraryDir, file)));
      await writeFile(path.join(bed.libraryDir, file), `edited ${file}`);
    }
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    const record = await bed.lastRun();
    assert.equal(record.files?.versionedFiles, 3);
    assert.equal(
      record.files?.versionedBytes,
      [...oldContent.values()].reduce((sum, content) => sum + content.length, 0),
    );
    assert.equal(record.files?.versionsDir, `versions/${today}`);
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      for (const file of changed) {
        assert.deepEqual(
          await readFile(path.join(root, 'immich-backup', 'versions', today, file)),
          oldContent.get(file),
          `${file}: the old copy`,
        );
        assert.equal(
          await readFile(path.join(root, 'immich-backup', 'files', file), 'utf8'),
          `edited ${file}`,
          `${file}: the new copy`,
        );
      }
    });
    const status = await bed.run('status');
    assert.match(status.stdout, /replaced copies in versions\/ take/);
  });

  test('restore --path --as-of brings a folder back as it was on a day, from versions/', async () => {
    const folder = 'upload/3f1c9a7e-1111-4222-8333-444455556666/00';
    const plan = await bed.run('restore', '--path', folder, '--as-of', yesterday);
    assert.equal(plan.exitCode, 0, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /1 from versions\//);
    assert.equal(
      await readFile(path.join(bed.libraryDir, changed[0] as string), 'utf8'),
      `edited ${changed[0]}`,
      'the plan changed nothing',
    );
    const done = await bed.run('restore', '--path', folder, '--as-of', yesterday, '--yes');
    assert.equal(done.exitCode, 0, done.stdout + done.stderr);
    assert.deepEqual(
      await readFile(path.join(bed.libraryDir, changed[0] as string)),
      oldContent.get(changed[0] as string),
    );
    assert.equal(await isRunning(bed.server), true);
  });

  test('encrypting 30% of the originals trips the guard: MASS_CHANGE, nothing on the drive changed, Immich untouched', async () => {
    const library = await snapshotTree(bed.libraryDir);
    const originals = [...library.keys()].filter(
      (file) =>
        !exempt(file) &&
        !file.endsWith('.immich') &&
        !file.startsWith('.immich-backup-agent-replaced'),
    );
    const victims = originals.filter((_, index) => index % 3 === 0);
    assert.ok(victims.length / originals.length >= 0.3);
    const goodContent = new Map<string, Buffer>();
    const goodTime = new Map<string, Date>();
    for (const file of victims) {
      goodContent.set(file, await readFile(path.join(bed.libraryDir, file)));
      goodTime.set(file, (await stat(path.join(bed.libraryDir, file))).mtime);
      const size = (await stat(path.join(bed.libraryDir, file))).size;
      await writeFile(path.join(bed.libraryDir, file), randomBytes(Math.max(size, 1)));
    }
    // Immich's own originals (it has their checksums) and files it does not know of.
    const known = victims.filter((file) => bed.originals.originals.has(file));
    const unknown = victims.filter((file) => !bed.originals.originals.has(file));
    assert.ok(known.length >= 5 && unknown.length >= 5, `${known.length} and ${unknown.length}`);
    const before = await driveTree();
    const startedBefore = await containerStartedAt(bed.server);
    const refused = await bed.run('run');
    assert.equal(refused.exitCode, 1, refused.stdout.slice(-2000));
    const record = await bed.lastRun();
    assert.equal(record.reason, 'MASS_CHANGE');
    assert.match(
      record.message,
      /backed-up files \(\d+(\.\d)?%\) would be replaced, more than the 5% allowed/,
    );
    assert.match(record.hint ?? '', /run --accept-changes/);
    assert.ok((record.guard?.changedPercent ?? 0) >= 25);
    assert.deepEqual(await driveTree(), before, 'nothing in the backup changed');
    assert.equal(await containerStartedAt(bed.server), startedBefore, 'Immich was not stopped');
    assert.equal(await isRunning(bed.server), true, 'Immich is running');

    // Accepted, the change is copied, except Immich's originals that no longer match their
    // checksum: their good copies stay in files/ (ORIGINALS_DAMAGED).
    const accepted = await bed.run('run', '--accept-changes');
    assert.equal(accepted.exitCode, 0, accepted.stdout.slice(-2000));
    const acceptedRecord = await bed.lastRun();
    assert.equal(acceptedRecord.guard?.accepted, true);
    assert.equal(acceptedRecord.outcome, 'warning', acceptedRecord.message);
    assert.equal(acceptedRecord.reason, 'ORIGINALS_DAMAGED');
    assert.deepEqual([...(acceptedRecord.originals?.damaged ?? [])].sort(), [...known].sort());
    assert.ok(
      (acceptedRecord.files?.versionedFiles ?? 0) >= unknown.length,
      'every replaced copy was kept',
    );
    assert.match(acceptedRecord.files?.versionsDir ?? '', new RegExp(`^versions/${today}T`));
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      for (const file of known)
        assert.deepEqual(
          await readFile(path.join(root, 'immich-backup', 'files', file)),
          goodContent.get(file),
          `${file}: the good copy is still in files/`,
        );
    });
    // The person puts Immich's originals back (as the warning tells): the next runs are clean.
    for (const file of known) {
      await writeFile(path.join(bed.libraryDir, file), goodContent.get(file) as Buffer);
      await utimes(path.join(bed.libraryDir, file), new Date(), goodTime.get(file) as Date);
    }
  });

  test('regenerating thumbs/ neither trips the guard nor creates versions', async () => {
    // Enough thumbnails that replacing them all would be far over the 5% limit if they counted.
    const backedUpFiles = (await snapshotTree(bed.libraryDir)).size;
    const count = Math.ceil(backedUpFiles * 0.5);
    const regenerated = (index: number): string =>
      path.join(bed.libraryDir, 'thumbs', 'regenerated', `thumb_${index}.webp`);
    await mkdir(path.dirname(regenerated(0)), { recursive: true });
    for (let index = 0; index < count; index += 1)
      await writeFile(regenerated(index), randomBytes(100));
    const first = await bed.run('run');
    assert.equal(first.exitCode, 0, first.stdout.slice(-2000));
    assert.ok(((await bed.lastRun()).files?.transferredFiles ?? 0) >= count, 'backed up once');

    // Immich regenerates every thumbnail: new content, same names.
    for (let index = 0; index < count; index += 1)
      await writeFile(regenerated(index), randomBytes(120));
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout.slice(-2000));
    const record = await bed.lastRun();
    assert.equal(record.outcome, 'success', record.message);
    assert.equal(record.guard?.replacedFiles, 0, 'replaced thumbnails are not counted');
    assert.equal(record.files?.versionedFiles, 0, 'nor kept as versions');
    assert.ok((record.files?.transferredFiles ?? 0) >= count, 'the new thumbnails were copied');
  });

  test('guard.enabled: false copies a mass change without counting it, keeps every replaced copy, and still keeps the good copies of damaged originals', async () => {
    const upload = [...(await snapshotTree(path.join(bed.libraryDir, 'upload'))).keys()].filter(
      (file) => !file.endsWith('.immich'),
    );
    const victims = upload.filter((_, index) => index % 2 === 0);
    assert.ok(victims.length >= 10);
    for (const file of victims)
      await writeFile(path.join(bed.libraryDir, 'upload', file), randomBytes(300));
    // With the guard off the damaged originals reach the drive, and the read-back after the
    // copy would rightly name them (BACKUP_DAMAGED, read-back.test.ts): not what this test is about.
    await bed.writeConfig({ guard: { enabled: false }, verify: { readBackSeconds: 0 } });
    try {
      const result = await bed.run('run');
      assert.equal(result.exitCode, 0, result.stdout.slice(-2000));
      const record = await bed.lastRun();
      assert.equal(record.guard, null, 'nothing was counted');
      // Some victims are Immich's originals, whose checksums the database has: damaged, their
      // good copies stay (the originals check does not depend on guard.enabled); the others
      // are copied, each previous copy kept in versions/.
      const kept = (record.originals?.damaged ?? []).map((file) => file.replace(/^upload\//, ''));
      assert.ok(kept.length > 0, 'some victims are originals the database knows');
      assert.equal(record.outcome, 'warning', record.message);
      assert.equal(record.reason, 'ORIGINALS_DAMAGED');
      assert.ok(
        kept.every((file) => victims.includes(file)),
        kept.join(', '),
      );
      assert.ok(
        (record.files?.versionedFiles ?? 0) >= victims.length - kept.length,
        'versions are kept',
      );
      await withDriveMounted(sandbox, bed.drive, async (root) => {
        for (const file of victims) {
          const onDrive = await readFile(path.join(root, 'immich-backup', 'files', 'upload', file));
          const live = await readFile(path.join(bed.libraryDir, 'upload', file));
          assert.equal(onDrive.equals(live), !kept.includes(file), file);
        }
      });
    } finally {
      await bed.writeConfig();
    }
  });

  test('prune-versions removes old versions but never the last copy of anything', async () => {
    await bed.drive.mountAt(sandbox.path('rw'));
    const backupDir = path.join(sandbox.path('rw'), 'immich-backup');
    try {
      const old = path.join(backupDir, 'versions', '2020-01-01', 'upload');
      await mkdir(old, { recursive: true });
      await writeFile(path.join(old, 'still-in-files.jpg'), 'old copy');
      await writeFile(
        path.join(backupDir, 'files', 'upload', 'still-in-files.jpg'),
        'current copy',
      );
      await writeFile(path.join(old, 'only-here.jpg'), 'the only copy left');
    } finally {
      await bed.drive.unmountAll();
    }
    const result = await bed.run('prune-versions', '--older-than', '30');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    assert.match(
      result.stdout,
      /Removed 1 old version .* kept 1 version that is the only copy left/,
    );
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      const versions = path.join(root, 'immich-backup', 'versions');
      assert.equal(
        await readFile(path.join(versions, '2020-01-01', 'upload', 'only-here.jpg'), 'utf8'),
        'the only copy left',
      );
      await assert.rejects(stat(path.join(versions, '2020-01-01', 'upload', 'still-in-files.jpg')));
      assert.ok((await stat(path.join(versions, today))).isDirectory(), 'recent versions stay');
    });
  });
});
