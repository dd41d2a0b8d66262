import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, readFile, rm, truncate, writeFile, open } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { isRunning, psql } from '../env/containers.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { fingerprint } from '../env/immich-database.js';
import { containerStartedAt } from '../env/inspect.js';
import { snapshotTree } from '../env/library.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';
import { localDate } from '../../src/format.js';

describe('restore and verify: every backup comes back', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  let originalRows: string;
  let originalFiles: Map<string, string>;
  let dumpName: string;
  let editMount: string;

  /** Mounts the drive read-write in a folder of the test's own, for damaging it on purpose. */
  async function onDrive<T>(work: (backupDir: string) => Promise<T>): Promise<T> {
    await bed.drive.mountAt(editMount);
    try {
      return await work(path.join(editMount, 'immich-backup'));
    } finally {
      await bed.drive.unmountAll();
    }
  }

  /** The library as a tree, without the folder a restore keeps replaced files in. */
  async function libraryTree(): Promise<Map<string, string>> {
    const tree = await snapshotTree(bed.libraryDir);
    for (const key of [...tree.keys()])
      if (key.startsWith('.immich-backup-agent-replaced-')) tree.delete(key);
    return tree;
  }

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 20, assets: 1500 });
    editMount = path.join(bed.root, 'edit mount');
    // A pinned version, so the sidecar and the restore's version check have one to compare.
    const envFile = path.join(bed.appDir, '.env');
    await writeFile(
      envFile,
      (await readFile(envFile, 'utf8')).replace('IMMICH_VERSION=release', 'IMMICH_VERSION=v2.5.2'),
    );
    await bed.writeConfig({ verify: { sampleSize: 1000 } });
    originalRows = await fingerprint(bed.database);
    originalFiles = await libraryTree();
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    dumpName = `immich-db-${localDate(new Date())}.sql.gz`;
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('the dump has a sidecar with versions and checksum, and `backups` lists it as verified', async () => {
    const listed = await bed.run('backups', '--json');
    assert.equal(listed.exitCode, 0, listed.stderr);
    const dumps = JSON.parse(listed.stdout) as {
      name: string;
      sidecar: {
        verified: boolean;
        format: string;
        sha256: string;
        immich: { envVersion: string };
        postgres: { serverVersion: string };
      };
    }[];
    const entry = dumps.find((dump) => dump.name === dumpName);
    assert.ok(entry?.sidecar, 'a sidecar beside the dump');
    assert.equal(entry.sidecar.verified, true);
    assert.equal(entry.sidecar.format, 'pg_dump');
    assert.equal(entry.sidecar.immich.envVersion, 'v2.5.2');
    assert.match(entry.sidecar.postgres.serverVersion, /^17\./);
    assert.match(entry.sidecar.sha256, /^[0-9a-f]{64}$/);
    const human = await bed.run('backups');
    assert.match(human.stdout, /verified +Immich v2\.5\.2, PostgreSQL 17/);
  });

  test('verify and verify --drill pass on a good backup', async () => {
    const quick = await bed.run('verify');
    assert.equal(quick.exitCode, 0, quick.stdout + quick.stderr);
    assert.match(quick.stdout, /GOOD/);
    const drill = await bed.run('verify', '--drill', '--json');
    assert.equal(drill.exitCode, 0, drill.stdout + drill.stderr);
    const report = JSON.parse(drill.stdout) as {
      ok: boolean;
      drill: { tables: Record<string, number> };
    };
    assert.deepEqual(report.drill.tables, { album: 21, asset: 1500, user: 4 });
    const drillContainers = await execa('docker', [
      'ps',
      '-a',
      '--filter',
      'label=immich-backup-agent.drill',
      '--quiet',
    ]);
    assert.equal(drillContainers.stdout.trim(), '', 'the drill container is gone');
  });

  test('restore without --yes prints the plan and changes nothing', async () => {
    await psql(
      bed.database,
      `DELETE FROM album_asset; DELETE FROM asset WHERE "fileCreatedAt" > '2024-01-20'; UPDATE "user" SET name = 'changed' WHERE email = 'ana@example.com';`,
    );
    await rm(
      path.join(bed.libraryDir, 'library', 'admin', '2024', 'Ünïcödé 📷 Ferien am Meer.heic'),
    );
    await writeFile(
      path.join(bed.libraryDir, 'profile', '3f1c9a7e-1111-4222-8333-444455556666', 'avatar.png'),
      'damaged',
    );
    const damagedRows = await fingerprint(bed.database);
    const damagedFiles = await libraryTree();
    const before = await containerStartedAt(bed.server);
    const plan = await bed.run('restore');
    assert.equal(plan.exitCode, 0, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /Restore plan \(nothing has been changed\)/);
    assert.match(plan.stdout, new RegExp(dumpName.replace(/\./g, '\\.')));
    assert.match(plan.stdout, /Copy 2 missing or changed files/);
    assert.match(plan.stdout, /Run again with --yes/);
    assert.equal(await fingerprint(bed.database), damagedRows);
    assert.deepEqual(await libraryTree(), damagedFiles);
    assert.equal(await containerStartedAt(bed.server), before, 'the server was not touched');
  });

  test('restore --yes brings back every row (non-ASCII too) and every file, and the server runs', async () => {
    const result = await bed.run('restore', '--yes');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    assert.equal(await fingerprint(bed.database), originalRows, 'every row, byte for byte');
    assert.equal(
      await psql(bed.database, `SELECT name FROM "user" WHERE email = 'ana@example.com';`),
      'Ána O\'Brien "the best"',
    );
    assert.deepEqual(await libraryTree(), originalFiles, 'every file');
    assert.equal(await isRunning(bed.server), true);
    // The restore is in its history, and status shows it.
    const status = await bed.run('status');
    assert.match(status.stdout, /Last restore: +success, .*Restored the database and/);
    const replaced = (await snapshotTree(bed.libraryDir)).keys();
    assert.ok(
      [...replaced].some(
        (key) => key.startsWith('.immich-backup-agent-replaced-') && key.endsWith('avatar.png'),
      ),
      'the replaced file is kept aside, not lost',
    );
  });

  test('a truncated dump, a flipped byte, or a missing library file each make verify exit 1 naming it', async () => {
    const saved = sandbox.path('saved.sql.gz');
    await onDrive((backupDir) => copyFile(path.join(backupDir, dumpName), saved));

    await onDrive(async (backupDir) => {
      const file = path.join(backupDir, dumpName);
      await truncate(file, Math.floor((await readFile(file)).length / 2));
    });
    const truncated = await bed.run('verify');
    assert.equal(truncated.exitCode, 1, truncated.stdout);
    assert.match(truncated.stdout, /PROBLEM dump .*damaged/);
    assert.match(truncated.stdout, /PROBLEM sidecar .*does not match its sidecar/);
    // A damaged dump does not keep the photos back: --files-only restores them without it.
    const lost = path.join(bed.libraryDir, 'profile', '3f1c9a7e-1111-4222-8333-444455556666');
    await rm(lost, { recursive: true });
    const filesOnly = await bed.run('restore', '--files-only', '--yes');
    assert.equal(filesOnly.exitCode, 0, filesOnly.stdout + filesOnly.stderr);
    assert.ok(existsSync(path.join(lost, 'avatar.png')), 'the lost folder is back');
    assert.equal(await isRunning(bed.server), true);

    await onDrive(async (backupDir) => {
      const file = path.join(backupDir, dumpName);
      await copyFile(saved, file);
      const handle = await open(file, 'r+');
      const middle = Math.floor((await handle.stat()).size / 2);
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, middle);
      byte[0] = (byte[0] ?? 0) ^ 0xff;
      await handle.write(byte, 0, 1, middle);
      await handle.close();
    });
    const flipped = await bed.run('verify');
    assert.equal(flipped.exitCode, 1, flipped.stdout);
    assert.match(flipped.stdout, /PROBLEM (dump|sidecar)/);

    await onDrive(async (backupDir) => {
      await copyFile(saved, path.join(backupDir, dumpName));
      await rm(
        path.join(
          backupDir,
          'files',
          'upload',
          '3f1c9a7e-1111-4222-8333-444455556666',
          'ab',
          'cd',
          'IMG 0001.JPG',
        ),
      );
    });
    const missing = await bed.run('verify');
    assert.equal(missing.exitCode, 1, missing.stdout);
    assert.match(
      missing.stdout,
      /PROBLEM files +1 file of the library missing from files\/: "upload\/3f1c9a7e-1111-4222-8333-444455556666\/ab\/cd\/IMG 0001\.JPG"/,
    );
    assert.doesNotMatch(missing.stdout, /PROBLEM dump/);

    const repaired = await bed.run('run');
    assert.equal(repaired.exitCode, 0, 'the next backup copies it again');
    assert.equal((await bed.run('verify')).exitCode, 0);
  });

  test('a restore across Immich major versions is refused unless --force', async () => {
    const envFile = path.join(bed.appDir, '.env');
    const env = await readFile(envFile, 'utf8');
    await writeFile(envFile, env.replace('IMMICH_VERSION=v2.5.2', 'IMMICH_VERSION=v1.133.0'));
    try {
      const refused = await bed.run('restore', '--yes', '--database-only');
      assert.equal(refused.exitCode, 1, refused.stdout + refused.stderr);
      assert.match(refused.stdout, /Immich 2\.x but 1\.x runs now/);
      const forced = await bed.run('restore', '--yes', '--database-only', '--force');
      assert.equal(forced.exitCode, 0, forced.stdout + forced.stderr);
    } finally {
      await writeFile(envFile, env);
    }
  });

  test('a legacy pg_dumpall dump (the old script’s) verifies with a drill and restores', async () => {
    const legacy = 'immich-db-2020-01-05.sql.gz';
    await onDrive(async (backupDir) => {
      await execa('bash', [
        '-o',
        'pipefail',
        '-c',
        'docker exec "$1" pg_dumpall --clean --if-exists --username=postgres | gzip > "$2"',
        '_',
        bed.database,
        path.join(backupDir, legacy),
      ]);
    });
    const drill = await bed.run('verify', '--date', '2020-01-05', '--drill');
    assert.equal(drill.exitCode, 0, drill.stdout + drill.stderr);
    assert.match(drill.stdout, /pg_dumpall/);
    assert.match(drill.stdout, /no sidecar/);

    await psql(bed.database, `DELETE FROM album_asset; DELETE FROM stack; DELETE FROM asset;`);
    const result = await bed.run('restore', '--date', '2020-01-05', '--database-only', '--yes');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    assert.equal(await fingerprint(bed.database), originalRows);
    assert.equal(await isRunning(bed.server), true);
  });
});

describe('retention and the check after each backup', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 3, assets: 40 });
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('verify.afterBackup drill puts the check and the restored row counts into the run record', async () => {
    await bed.writeConfig({ verify: { afterBackup: 'drill' } });
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    const record = await bed.lastRun();
    assert.equal(record.outcome, 'success', record.message);
    assert.deepEqual(record.verify, {
      ok: true,
      problems: [],
      drillRows: { album: 21, asset: 40, user: 4 },
    });
  });

  test('retention.keepDumps keeps the newest verified dumps, and never one it cannot vouch for', async () => {
    const mount = path.join(bed.root, 'edit mount');
    const today = `immich-db-${localDate(new Date())}.sql.gz`;
    await bed.drive.mountAt(mount);
    try {
      const backupDir = path.join(mount, 'immich-backup');
      const sidecar = JSON.parse(
        await readFile(path.join(backupDir, today.replace('.sql.gz', '.json')), 'utf8'),
      ) as Record<string, unknown>;
      for (const date of ['2026-01-04', '2026-01-11']) {
        await copyFile(
          path.join(backupDir, today),
          path.join(backupDir, `immich-db-${date}.sql.gz`),
        );
        await writeFile(
          path.join(backupDir, `immich-db-${date}.json`),
          JSON.stringify({ ...sidecar, dump: `immich-db-${date}.sql.gz` }),
        );
      }
      await copyFile(
        path.join(backupDir, today),
        path.join(backupDir, 'immich-db-2025-12-28.sql.gz'),
      ); // no sidecar: an old script's dump
    } finally {
      await bed.drive.unmountAll();
    }
    await bed.writeConfig({ retention: { keepDumps: 2 } });
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    const listed = JSON.parse((await bed.run('backups', '--json')).stdout) as { name: string }[];
    assert.deepEqual(
      listed.map((dump) => dump.name),
      ['immich-db-2025-12-28.sql.gz', 'immich-db-2026-01-11.sql.gz', today],
      'the oldest verified dump went; the unverified one and files/ stay',
    );
  });
});
