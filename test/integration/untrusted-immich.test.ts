import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { localDate } from '../../src/format.js';
import { containerStartedAt, partialFiles, withDriveMounted } from '../env/inspect.js';
import { isRunning } from '../env/containers.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { snapshotTree } from '../env/library.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

/**
 * Immich's app folder belongs to whoever runs Immich, often a normal user: its `.env` and compose
 * file are input to the agent (which runs as root), not configuration. Each test performs what
 * that user could do, and shows that nothing outside the drive was read into the backup or
 * written, that the agent stops with a code and a hint, and that Immich runs afterwards.
 */
describe('an Immich app folder whose owner tries to steer root', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  let envFile: string;
  let composeFile: string;
  let goodEnv: string;
  let goodCompose: string;
  /** A file only root may read, outside the app folder: what the attacker wants. */
  let secret: string;
  const marker = `ROOT-ONLY-${randomBytes(8).toString('hex')}`;
  const today = localDate(new Date());

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 3, assets: 50 });
    envFile = path.join(bed.appDir, '.env');
    composeFile = path.join(bed.appDir, 'docker-compose.yml');
    goodEnv = await readFile(envFile, 'utf8');
    goodCompose = await readFile(composeFile, 'utf8');
    secret = path.join(bed.root, 'root-only.txt');
    await writeFile(secret, `${marker}\nDB_PASSWORD=${marker}\n`, { mode: 0o600 });
    // That day's good dump, .env and compose on the drive: what must survive every attack.
    const first = await bed.run('run');
    assert.equal(first.exitCode, 0, first.stdout + first.stderr);
  });
  after(async () => {
    await sandbox?.dispose();
  });

  /** Puts Immich's files back as they were, whatever a test did to them. */
  async function restoreAppFiles(): Promise<void> {
    await rm(envFile, { force: true, recursive: true });
    await rm(composeFile, { force: true, recursive: true });
    await writeFile(envFile, goodEnv, { mode: 0o600 });
    await chmod(envFile, 0o600);
    await writeFile(composeFile, goodCompose, { mode: 0o644 });
  }

  /** The backup folder's files by content, without the run history (a failed run adds a record). */
  async function driveContent(): Promise<Map<string, string>> {
    return withDriveMounted(sandbox, bed.drive, async (root) => {
      const tree = await snapshotTree(path.join(root, 'immich-backup'));
      for (const name of [...tree.keys()])
        if (name.startsWith('.immich-backup-agent/')) tree.delete(name);
      return tree;
    });
  }

  /** Nothing of the root-only file anywhere on the drive. */
  async function assertSecretNotOnDrive(): Promise<void> {
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      const grep = await execa('grep', ['-rl', '--', marker, root], { reject: false });
      assert.equal(
        grep.exitCode,
        1,
        `the root-only file's content is on the drive: ${grep.stdout}`,
      );
    });
  }

  /** A refusal before anything ran: exit 2, the reason and the hint on stderr, nothing touched. */
  async function assertRefusedAtConfig(
    before: { drive: Map<string, string>; serverStartedAt: string },
    reason: RegExp,
    hint: RegExp,
  ): Promise<void> {
    const result = await bed.run('run');
    assert.equal(result.exitCode, 2, result.stdout + result.stderr);
    assert.match(result.stderr, reason);
    assert.match(result.stderr, hint);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'a reason, not a stack trace');
    assert.deepEqual(await driveContent(), before.drive, 'the drive is as it was');
    assert.equal(await containerStartedAt(bed.server), before.serverStartedAt, 'Immich untouched');
    assert.equal(await isRunning(bed.server), true);
  }

  const untouched = async (): Promise<{ drive: Map<string, string>; serverStartedAt: string }> => ({
    drive: await driveContent(),
    serverStartedAt: await containerStartedAt(bed.server),
  });

  test('.env and the compose file as symlinks to a root-only file are refused (CONFIG_INSECURE) and nothing of it reaches the drive', async () => {
    const before = await untouched();
    try {
      for (const file of [envFile, composeFile]) {
        await restoreAppFiles();
        await rm(file);
        await symlink(secret, file);
        await assertRefusedAtConfig(
          before,
          new RegExp(`Refusing Immich's files: .*${path.basename(file)} is a symlink`),
          /not symlinks\) owned by root or the folder's owner/,
        );
        await assertSecretNotOnDrive();
      }
    } finally {
      await restoreAppFiles();
    }
  });

  test('.env writable by everyone, by a group with others in it, or owned by a third user is refused (CONFIG_INSECURE)', async () => {
    const before = await untouched();
    const cases: [string, () => Promise<void>, RegExp][] = [
      ['other-writable', () => chmod(envFile, 0o646), /\.env is writable by everyone/],
      [
        'group-writable by a group of others',
        async () => (await chown(envFile, 0, 4713), await chmod(envFile, 0o660)),
        /\.env is writable by group 4713/,
      ],
      [
        'owned by a third user',
        () => chown(envFile, 4711, 4711),
        /\.env is owned by uid 4711, neither root nor the app folder's owner \(uid 0\)/,
      ],
    ];
    try {
      for (const [, attack, reason] of cases) {
        await restoreAppFiles();
        await attack();
        await assertRefusedAtConfig(before, reason, /writable by no one else/);
      }
    } finally {
      await restoreAppFiles();
    }
  });

  test('.env swapped for a symlink to a root-only file while a run is under way is not copied to the drive', async () => {
    const before = await driveContent();
    try {
      const run = bed.run('run');
      // The server is stopped after the configuration was read and before the copy of .env.
      const deadline = Date.now() + 60_000;
      while ((await isRunning(bed.server)) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      const swap = path.join(bed.appDir, '.env.swap');
      await symlink(secret, swap);
      await rename(swap, envFile);
      const result = await run;
      assert.equal(result.exitCode, 2, result.stdout + result.stderr);
      assert.match(result.stdout + result.stderr, /Refusing to copy .*\.env is a symlink/);
      // last-run reads the configuration too, and refuses the symlink as well.
      await restoreAppFiles();
      const record = await bed.lastRun();
      assert.equal(record.outcome, 'failed');
      assert.equal(record.reason, 'CONFIG_INSECURE');
      const after = await driveContent();
      assert.equal(after.get('.env'), before.get('.env'), "the drive's .env is the last good one");
      assert.equal(after.get('docker-compose.yml'), before.get('docker-compose.yml'));
      await assertSecretNotOnDrive();
      assert.equal(await isRunning(bed.server), true, 'Immich was started again');
    } finally {
      await restoreAppFiles();
    }
  });

  test('DB_DATABASE_NAME=--file=… is refused as a name (CONFIG_INVALID): pg_dump never sees it as an option', async () => {
    const before = await untouched();
    const planted = `/tmp/iba-pwned-${randomBytes(6).toString('hex')}`;
    try {
      await writeFile(
        envFile,
        goodEnv.replace(/^DB_DATABASE_NAME=.*$/m, `DB_DATABASE_NAME=--file=${planted}`),
      );
      await assertRefusedAtConfig(
        before,
        /immich\.databaseName: "--file=\/tmp\/iba-pwned-\w+" is not a plain PostgreSQL name .*, as DB_DATABASE_NAME in .*\.env says/,
        /Fix the keys named above/,
      );
      assert.equal(existsSync(planted), false, 'nothing written on the host');
      const inContainer = await execa('docker', ['exec', bed.database, 'test', '-e', planted], {
        reject: false,
      });
      assert.equal(inContainer.exitCode, 1, 'nothing written in the database container');
    } finally {
      await restoreAppFiles();
    }
  });

  test('DB_DATABASE_NAME as a connection string is refused, and that day’s good dump stays', async () => {
    const before = await untouched();
    try {
      await writeFile(
        envFile,
        goodEnv.replace(
          /^DB_DATABASE_NAME=.*$/m,
          'DB_DATABASE_NAME="dbname=postgres host=/var/run/postgresql"',
        ),
      );
      await assertRefusedAtConfig(
        before,
        /immich\.databaseName: "dbname=postgres host=\/var\/run\/postgresql" is not a plain PostgreSQL name/,
        /Fix the keys named above/,
      );
      assert.ok(before.drive.has(`immich-db-${today}.sql.gz`), 'the good dump is there');
    } finally {
      await restoreAppFiles();
    }
  });

  test('a database name that is valid but not Immich’s (postgres) fails the dump (DUMP_FAILED) and that day’s good dump and sidecar stay', async () => {
    const before = await driveContent();
    const dump = `immich-db-${today}.sql.gz`;
    try {
      await writeFile(
        envFile,
        goodEnv.replace(/^DB_DATABASE_NAME=.*$/m, 'DB_DATABASE_NAME=postgres'),
      );
      const result = await bed.run('run');
      assert.equal(result.exitCode, 1, result.stdout + result.stderr);
      const record = await bed.lastRun();
      assert.equal(record.outcome, 'failed');
      assert.equal(record.reason, 'DUMP_FAILED');
      assert.match(
        result.stdout + result.stderr,
        /complete but not Immich's: it has no asset or user table/,
      );
      assert.match(result.stdout + result.stderr, /Check DB_DATABASE_NAME in Immich's \.env/);
      const after = await driveContent();
      assert.ok(before.get(dump), 'there was a good dump');
      assert.equal(after.get(dump), before.get(dump), 'that day’s good dump is unchanged');
      assert.equal(after.get(`immich-db-${today}.json`), before.get(`immich-db-${today}.json`));
      await withDriveMounted(sandbox, bed.drive, async (root) => {
        assert.deepEqual(await partialFiles(path.join(root, 'immich-backup')), []);
      });
      assert.equal(await isRunning(bed.server), true, 'Immich was started again');
    } finally {
      await restoreAppFiles();
    }
  });

  test('a container name a/../b, from compose or from the config, is refused before any engine call (no crash)', async () => {
    const before = await untouched();
    try {
      await writeFile(
        composeFile,
        goodCompose.replace(`container_name: ${bed.database}`, 'container_name: a/../b'),
      );
      await assertRefusedAtConfig(
        before,
        /immich\.databaseContainer: "a\/\.\.\/b" is not a container name Docker accepts .*, as container_name in .*docker-compose\.yml says/,
        /Fix the keys named above/,
      );
      await restoreAppFiles();
      await bed.writeConfig({ immich: { appDir: bed.appDir, serverContainer: 'a/../b' } });
      await assertRefusedAtConfig(
        before,
        /immich\.serverContainer: is not a valid Docker container name/,
        /Fix the keys named above/,
      );
    } finally {
      await bed.writeConfig();
      await restoreAppFiles();
    }
  });

  test('after every attack, a run with Immich’s own files succeeds', async () => {
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    assert.match((await bed.lastRun()).outcome, /^(success|warning)$/);
    const drive = await driveContent();
    assert.equal(
      drive.get('.env'),
      (await snapshotTree(bed.appDir)).get('.env'),
      'the drive holds the app folder’s .env',
    );
  });
});
