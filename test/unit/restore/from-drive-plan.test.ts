import assert from 'node:assert/strict';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { findBackupDir } from '../../../src/restore/from-drive-plan.js';
import { plan, refusedWith, where, withBackup, writeBackup } from './from-drive-plan-fixture.js';

withBackup('plan');

describe('restore --from-drive: the plan', () => {
  test('the backup folder is the one holding the kit the agent runs from (its real path)', async () => {
    const link = path.join(where.root, 'agent-link.mjs');
    await symlink(where.kitAgent, link);
    assert.equal(await findBackupDir(link), where.backupDir);
    assert.equal(await findBackupDir('/anywhere/agent.mjs', 'rel/dir'), path.resolve('rel/dir'));
    await refusedWith('NO_BACKUP', findBackupDir(path.join(where.root, 'agent.mjs')));
  });

  test('reads the kit, the dump and the compose file, and changes nothing', async () => {
    const result = await plan();
    assert.equal(result.backupDir, where.backupDir);
    assert.equal(result.dump.name, 'immich-db-2026-12-01.sql.gz');
    assert.equal(result.format, 'pg_dump');
    assert.equal(result.databaseService, 'database');
    assert.equal(result.env.get('UPLOAD_LOCATION'), path.join(where.root, 'new', 'library'));
    assert.equal(
      result.env.get('DB_DATA_LOCATION'),
      path.join(where.root, 'new', 'app', 'postgres'),
    );
    assert.equal(result.env.get('DB_PASSWORD'), 'pw');
    assert.deepEqual(
      result.images.map((image) => [image.role, image.source]),
      [
        ['database', 'here'],
        ['server', 'drive'],
      ],
    );
    // The compose file's image is not here by its reference: compose would pull it.
    assert.deepEqual(result.toPull, ['postgres']);
    await refusedWith('NO_BACKUP', findBackupDir(path.join(where.root, 'new', 'x')));
  });

  test('never over an installation: an app dir with .env or a compose file is refused', async () => {
    for (const name of ['.env', 'compose.yaml']) {
      const appDir = path.join(where.root, `installed-${name}`);
      await mkdir(appDir, { recursive: true });
      await writeFile(path.join(appDir, name), 'x');
      const message = await refusedWith('RESTORE_FAILED', plan({ appDir }));
      assert.match(message, /never writes over an installation/);
    }
  });

  test('a library in a system folder, or on the drive, is refused', async () => {
    await refusedWith('CONFIG_INVALID', plan({ library: '/etc/immich' }));
    await refusedWith(
      'CONFIG_INVALID',
      plan({ library: path.join(where.backupDir, 'files', 'x') }),
    );
    await refusedWith('CONFIG_INVALID', plan({ appDir: '/usr/lib/immich' }));
    await refusedWith('CONFIG_INVALID', plan({ library: path.join(where.root, "it's mine") }));
  });

  test('a dump of another Immich than the kit is refused with what to do', async () => {
    const other = path.join(where.root, 'other', 'immich-backup');
    await writeBackup(other, 'v2.6.0');
    const message = await refusedWith(
      'VERSION_MISMATCH',
      plan({ backupDir: other, scriptPath: '/nowhere/agent.mjs' }),
    );
    assert.match(
      message,
      /This dump is from Immich 2\.6\.0 with PostgreSQL 14, but the restore kit would start Immich 2\.7\.5\. Start Immich 2\.6\.0 first/,
    );
  });

  test('a files/ that is a symlink is refused (rsync would copy what it points at)', async () => {
    const linked = path.join(where.root, 'linked-files', 'immich-backup');
    await writeBackup(linked);
    await rm(path.join(linked, 'files'), { recursive: true });
    await symlink('/etc', path.join(linked, 'files'));
    const message = await refusedWith('NO_BACKUP', plan({ backupDir: linked }));
    assert.match(message, /files is a symlink/);
  });

  test('a manifest that is a symlink is not followed', async () => {
    const linked = path.join(where.root, 'linked', 'immich-backup');
    await writeBackup(linked);
    const manifest = path.join(linked, 'restore-kit', 'restore-kit.json');
    await rm(manifest);
    await symlink(path.join(where.backupDir, 'restore-kit', 'restore-kit.json'), manifest);
    const message = await refusedWith('NO_BACKUP', plan({ backupDir: linked }));
    assert.match(message, /symlink/);
  });
});
