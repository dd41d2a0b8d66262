import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { localDate } from '../../src/format.js';
import { createDockerAdapter } from '../../src/adapters/docker.js';
import { createChecksumLookup } from '../../src/adapters/immich-checksums.js';
import { isRunning, psql, startDatabase } from '../env/containers.js';
import { seedImmichDatabase, seedOlderImmichDatabase } from '../env/immich-database.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { withDriveMounted } from '../env/inspect.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';
import { execa } from 'execa';

const user = '3f1c9a7e-1111-4222-8333-444455556666';
const sha1 = (content: Buffer): string => createHash('sha1').update(content).digest('hex');
const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

describe('originals never change: a damaged live original does not overwrite its good copy', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  // The local day of the run that kept the good copies (its versions/ folder), from its record:
  // a day taken when the file loads is the wrong one for a suite that runs past midnight.
  let today = '';
  // Damaged later: quotes, emoji, a newline, and rsync's wildcards (with a backslash).
  const damaged = [
    `library/admin/2024/2024-06-01/Photo "quoted" 'single'.jpg`,
    'library/admin/2024/Ünïcödé 📷 Ferien am Meer.heic',
    'library/admin/2024/line\nbreak.jpg',
    `upload/${user}/ab/st*r [1]? \\x.jpg`,
  ];
  // Near misses of the names above, changed too but not known to Immich: copied.
  const nearMisses = [`upload/${user}/ab/stXr 1Y \\x.jpg`, `upload/${user}/ab/st*r [1]? \\x.jpeg`];
  const reUploaded = `upload/${user}/00/IMG_0.jpg`;
  const notAnAsset = `profile/${user}/avatar.png`;
  // Damaged later still: while the run has Immich stopped (after the check), and with the guard off.
  const lateDamaged = 'library/admin/2024/$(touch PWNED) `id`.jpg';
  const damagedGuardOff = 'library/admin/2024/empty.jpg';
  const good = new Map<string, Buffer>();

  /** Points one of the bed's asset rows at a library file, with the checksum of `content`. */
  async function registerAsset(offset: number, relative: string, content: Buffer): Promise<void> {
    await psql(
      bed.database,
      `UPDATE asset SET "originalPath" = convert_from(decode('${base64(`/data/${relative}`)}', 'base64'), 'UTF8'),
         checksum = decode('${sha1(content)}', 'hex'), "checksumAlgorithm" = 'sha1'
       WHERE id = (SELECT id FROM asset WHERE NOT "isExternal" ORDER BY id OFFSET ${offset} LIMIT 1);`,
    );
  }

  /** Overwrites a file with new content; its time moves, as any write's does. */
  async function rewrite(relative: string, content: Buffer): Promise<void> {
    const file = path.join(bed.libraryDir, relative);
    await writeFile(file, content);
    const later = new Date(Date.now() + 60_000);
    await utimes(file, later, later);
  }

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 200, assets: 100 });
    // Names the bed's library does not have: made here.
    for (const name of [...damaged, ...nearMisses])
      if (name.startsWith(`upload/${user}/ab/`))
        await writeFile(path.join(bed.libraryDir, name), randomBytes(5_000));
    for (const [index, relative] of [
      ...damaged,
      reUploaded,
      lateDamaged,
      damagedGuardOff,
    ].entries()) {
      const content = await readFile(path.join(bed.libraryDir, relative));
      good.set(relative, content);
      await registerAsset(index, relative, content);
    }
    for (const relative of [...nearMisses, notAnAsset])
      good.set(relative, await readFile(path.join(bed.libraryDir, relative)));
    const first = await bed.run('run');
    assert.equal(first.exitCode, 0, first.stdout + first.stderr);
    const record = await bed.lastRun();
    assert.equal(record.outcome, 'success', record.message);
    assert.equal(record.originals, null, 'a first backup replaces nothing');
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('damaged originals are kept on the drive, a re-upload and other files are copied', async () => {
    for (const relative of [...damaged, ...nearMisses, notAnAsset]) {
      const size = (await stat(path.join(bed.libraryDir, relative))).size;
      await rewrite(relative, randomBytes(size));
    }
    // Immich took a new upload under the same name: the file and its checksum changed together.
    const upload = randomBytes(7_777);
    await rewrite(reUploaded, upload);
    await registerAsset(damaged.length, reUploaded, upload);

    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout.slice(-3000) + result.stderr);
    const record = await bed.lastRun();
    assert.equal(record.outcome, 'warning', record.message);
    assert.equal(record.reason, 'ORIGINALS_DAMAGED');
    assert.deepEqual([...(record.originals?.damaged ?? [])].sort(), [...damaged].sort());
    assert.equal(record.originals?.checked, damaged.length + 1);
    assert.equal(record.originals?.unknown, nearMisses.length + 1);
    const warning = record.warnings.find((text) => text.includes('Immich never changes'));
    assert.ok(warning, record.warnings.join('\n'));
    assert.match(warning, /4 originals .*were kept, not overwritten/);
    assert.match(warning, /Ferien am Meer\.heic/);
    assert.match(warning, /"library\/admin\/2024\/line\\nbreak\.jpg"/);
    assert.equal(await isRunning(bed.server), true, 'Immich runs afterwards');

    today = localDate(new Date(record.startedAt));
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      const files = path.join(root, 'immich-backup', 'files');
      const versions = path.join(root, 'immich-backup', 'versions', today);
      for (const relative of damaged) {
        assert.deepEqual(
          await readFile(path.join(files, relative)),
          good.get(relative),
          `${relative}: the good copy stays`,
        );
        await assert.rejects(stat(path.join(versions, relative)), `${relative}: not versioned`);
      }
      assert.deepEqual(await readFile(path.join(files, reUploaded)), upload, 'the re-upload');
      assert.deepEqual(await readFile(path.join(versions, reUploaded)), good.get(reUploaded));
      for (const relative of [...nearMisses, notAnAsset]) {
        assert.deepEqual(
          await readFile(path.join(files, relative)),
          await readFile(path.join(bed.libraryDir, relative)),
          `${relative}: copied`,
        );
        assert.deepEqual(await readFile(path.join(versions, relative)), good.get(relative));
      }
    });
  });

  test('the next run still keeps them and says so again', async () => {
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout.slice(-3000) + result.stderr);
    const record = await bed.lastRun();
    assert.equal(record.reason, 'ORIGINALS_DAMAGED');
    assert.deepEqual([...(record.originals?.damaged ?? [])].sort(), [...damaged].sort());
    assert.equal(record.originals?.unknown, 0);
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      for (const relative of damaged)
        assert.deepEqual(
          await readFile(path.join(root, 'immich-backup', 'files', relative)),
          good.get(relative),
        );
    });
    assert.equal(await isRunning(bed.server), true);
  });

  test('the restore the warning names puts a good copy back, and the next run finds it fine', async () => {
    const relative = damaged[1] as string;
    const restored = await bed.run('restore', '--path', relative, '--as-of', today, '--yes');
    assert.equal(restored.exitCode, 0, restored.stdout + restored.stderr);
    assert.deepEqual(await readFile(path.join(bed.libraryDir, relative)), good.get(relative));
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout.slice(-3000) + result.stderr);
    const record = await bed.lastRun();
    assert.equal(record.reason, 'ORIGINALS_DAMAGED');
    assert.deepEqual(
      [...(record.originals?.damaged ?? [])].sort(),
      damaged.filter((name) => name !== relative).sort(),
    );
  });

  test('an original damaged after the check, while Immich is stopped for the dump, is put back from versions/', async () => {
    let ended = false;
    const running = bed.run('run').finally(() => {
      ended = true;
    });
    // The check runs while Immich is up; once the server is stopped it is over, and the copy
    // has not started yet (the dump comes first).
    while (!ended && (await isRunning(bed.server)))
      await new Promise((resolve) => setTimeout(resolve, 25));
    assert.equal(ended, false, 'the run stopped the server');
    await rewrite(lateDamaged, randomBytes(good.get(lateDamaged)?.length ?? 1));
    const result = await running;
    assert.equal(result.exitCode, 0, result.stdout.slice(-3000) + result.stderr);
    const record = await bed.lastRun();
    assert.equal(record.reason, 'ORIGINALS_DAMAGED');
    assert.ok(record.originals?.damaged.includes(lateDamaged), JSON.stringify(record.originals));
    const warning = record.warnings.find((text) => text.includes('changed while the backup ran'));
    assert.ok(warning, record.warnings.join('\n'));
    assert.match(warning, /the previous copy was put back on the drive from versions\//);
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      const backup = path.join(root, 'immich-backup');
      assert.deepEqual(
        await readFile(path.join(backup, 'files', lateDamaged)),
        good.get(lateDamaged),
      );
      if (record.files?.versionsDir)
        await assert.rejects(stat(path.join(backup, record.files.versionsDir, lateDamaged)));
    });
    assert.equal(await isRunning(bed.server), true);
  });

  test('guard.enabled: false leaves the mass-change count out, not the originals check', async () => {
    await rewrite(damagedGuardOff, randomBytes(1_234));
    await bed.writeConfig({ guard: { enabled: false } });
    try {
      const result = await bed.run('run');
      assert.equal(result.exitCode, 0, result.stdout.slice(-3000) + result.stderr);
    } finally {
      await bed.writeConfig();
    }
    const record = await bed.lastRun();
    assert.equal(record.guard, null, 'nothing counted');
    assert.equal(record.reason, 'ORIGINALS_DAMAGED');
    assert.ok(record.originals?.damaged.includes(damagedGuardOff));
    // Left out of the copy by the check before it (not put back by the one after it).
    const kept = record.warnings.find((text) => text.includes('kept, not overwritten'));
    assert.match(kept ?? '', /empty\.jpg/, record.warnings.join('\n'));
    assert.ok(!record.warnings.some((text) => text.includes('changed while the backup ran')));
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      assert.deepEqual(
        await readFile(path.join(root, 'immich-backup', 'files', damagedGuardOff)),
        good.get(damagedGuardOff),
      );
    });
  });
});

describe('Immich’s checksums read from the live database, by path', () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await createSandbox();
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('v2.7.5 (asset, with checksumAlgorithm) and an older layout (assets, without) both answer; awkward paths stay exact', async () => {
    const current = await startDatabase(sandbox, 'current-db', { password: 'pw' });
    const older = await startDatabase(sandbox, 'older-db', { password: 'pw' });
    await seedImmichDatabase(current, 20);
    await seedOlderImmichDatabase(older, 20);
    const awkward = `/data/library/a 'q' "dq" $(x) \\ \n📷|*.jpg`;
    const content = randomBytes(100);
    await psql(
      current,
      `UPDATE asset SET "originalPath" = convert_from(decode('${base64(awkward)}', 'base64'), 'UTF8'),
         checksum = decode('${sha1(content)}', 'hex'), "checksumAlgorithm" = 'sha1'
       WHERE id = (SELECT id FROM asset WHERE NOT "isExternal" ORDER BY id LIMIT 1);`,
    );
    const external = await psql(
      current,
      `SELECT "originalPath" FROM asset WHERE "isExternal" ORDER BY id LIMIT 1;`,
    );
    const docker = createDockerAdapter();
    const options = { user: 'postgres', database: 'immich', password: 'pw', batchSize: 2 };
    const found = await createChecksumLookup(docker, { ...options, container: current }).lookup([
      awkward,
      '/data/not/there.jpg',
      external,
    ]);
    assert.deepEqual(found.get(awkward), [
      { checksum: sha1(content), algorithm: 'sha1', isExternal: false },
    ]);
    assert.equal(found.has('/data/not/there.jpg'), false);
    assert.ok(external, 'the bed has an external library asset');
    assert.equal(found.get(external)?.[0]?.algorithm, 'sha1-path');

    const oldPath = '/usr/src/app/upload/library/admin/2024/IMG_3.jpg';
    const oldFound = await createChecksumLookup(docker, { ...options, container: older }).lookup([
      oldPath,
    ]);
    // The older bed's checksums are 32-byte values: not a SHA-1, so none to check against.
    assert.deepEqual(oldFound.get(oldPath), [
      { checksum: null, algorithm: null, isExternal: false },
    ]);
  });

  test('a lookup queued behind a lock gives up after lock_timeout; an interrupted one stops waiting at once', async () => {
    const database = await startDatabase(sandbox, 'locked-db', { password: 'pw' });
    await seedImmichDatabase(database, 5);
    // Another session holds the asset table (a migration would): every SELECT of it queues.
    const locker = execa(
      'docker',
      [
        'exec',
        database,
        'psql',
        '-U',
        'postgres',
        '-d',
        'immich',
        '-c',
        'BEGIN; LOCK TABLE asset IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT;',
      ],
      { reject: false },
    );
    try {
      while (
        (await psql(
          database,
          `SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'asset'::regclass;`,
        )) !== '1'
      )
        await new Promise((resolve) => setTimeout(resolve, 100));
      const docker = createDockerAdapter();
      const options = { container: database, user: 'postgres', database: 'immich', password: 'pw' };
      let started = Date.now();
      await assert.rejects(
        createChecksumLookup(docker, { ...options, lockTimeoutMs: 1_000 }).lookup(['/data/a.jpg']),
        /lock timeout/,
      );
      assert.ok(Date.now() - started < 15_000, `gave up after ${Date.now() - started} ms`);
      const controller = new AbortController();
      started = Date.now();
      setTimeout(() => controller.abort(new Error('interrupted')), 500);
      await assert.rejects(
        createChecksumLookup(docker, {
          ...options,
          signal: controller.signal,
          timeoutMs: 5_000,
        }).lookup(['/data/a.jpg']),
        /interrupted/,
      );
      assert.ok(Date.now() - started < 3_000, `stopped after ${Date.now() - started} ms`);
    } finally {
      await psql(
        database,
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid();`,
      );
      await locker;
    }
  });
});
