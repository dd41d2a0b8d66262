import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { bundleAgent, bundleFile } from '../../scripts/bundle.js';
import { agentEnv } from '../env/cli.js';
import {
  dockerWithoutComposePlugin,
  loseTheMachine,
  makeComposeBed,
  type ComposeBed,
} from '../env/compose-bed.js';
import { isRunning } from '../env/containers.js';
import {
  databaseSnapshot,
  diffSnapshots,
  type DatabaseSnapshot,
} from '../env/database-snapshot.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { snapshotTree } from '../env/library.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

/**
 * The full disaster: a real-schema Immich (the test bed's, with a compose file that compose can
 * start on this engine) is backed up; then everything on the machine but the drive and the test
 * bed's base images goes (containers, volumes, app folder, library, the agent's state, log and
 * configuration); Immich is brought back by the agent in the drive's restore kit, run with Node
 * alone, and compared with what was: the database row for row, the library file for file, the
 * server running.
 */
for (const flavour of ['v2', 'v1'] as const)
  describe(`disaster: Immich comes back from the drive alone (compose ${flavour})`, () => {
    let sandbox: Sandbox;
    let bed: ImmichBed;
    let composeBed: ComposeBed;
    let rowsBefore: DatabaseSnapshot;
    let filesBefore: Map<string, string>;
    /** The new machine: no quote in its paths (.env cannot hold one literally), the rest awkward. */
    let newRoot: string;
    let mountPoint: string;
    let agent: string;
    /** What the agent's PATH starts with: for v1, a docker CLI without the compose plugin. */
    let pathFirst: string | undefined;

    const restore = (...args: string[]) =>
      execa(
        'node',
        [
          agent,
          'restore',
          '--from-drive',
          '--library',
          path.join(newRoot, 'library'),
          '--app-dir',
          path.join(newRoot, 'immich-app'),
          ...args,
        ],
        {
          cwd: newRoot,
          reject: false,
          env: agentEnv(
            pathFirst === undefined ? {} : { PATH: `${pathFirst}:${process.env.PATH ?? ''}` },
          ),
          stdin: 'ignore',
          timeout: 15 * 60_000,
        },
      );

    before(async () => {
      sandbox = await createSandbox();
      // The test bed has both: the plugin (v2, what most machines have) and Debian bookworm's
      // docker-compose (v1), which the agent falls back to on a docker CLI without the plugin.
      if (flavour === 'v1') pathFirst = await dockerWithoutComposePlugin(sandbox);
      else await execa('docker', ['compose', 'version']);
      // The installed agent finds the bundle where `npm run build` puts it, for the kit.
      if (!existsSync(bundleFile)) await bundleAgent();
      bed = await createImmichBed(sandbox, { photos: 12, assets: 600 });
      composeBed = await makeComposeBed(bed);
      rowsBefore = await databaseSnapshot(bed.database);
      filesBefore = await snapshotTree(bed.libraryDir);
      const run = await bed.run('run');
      assert.equal(run.exitCode, 0, run.stdout + run.stderr);

      await loseTheMachine(bed, composeBed);

      // The new machine: the drive plugged in and mounted where a desktop would.
      newRoot = sandbox.path(`new machine $(touch PWNED) "dq" ü 📷`);
      mountPoint = path.join(newRoot, 'media', 'Backup 1');
      await bed.drive.mountAt(mountPoint);
      sandbox.defer('unmount the drive on the new machine', () => bed.drive.unmountAll());
      const backupDir = path.join(mountPoint, 'immich-backup');
      const kitDir = path.join(backupDir, 'restore-kit');
      // The kit the backup run itself left (the installed agent carries its bundle).
      for (const name of ['restore-kit.json', 'RESTORE.md', 'immich-backup-agent.mjs'])
        assert.ok(existsSync(path.join(kitDir, name)), `the run left restore-kit/${name}`);
      // The kit's own agent, finding the backup from where it is: nothing installed is used.
      agent = path.join(kitDir, 'immich-backup-agent.mjs');
    });
    after(async () => {
      await sandbox?.dispose();
    });

    test('the machine is empty: no container, no app folder, no library, no state', async () => {
      for (const container of [bed.server, bed.database])
        assert.equal(await isRunning(container), false);
      for (const gone of [bed.appDir, bed.libraryDir, bed.stateDir, bed.configFile])
        assert.equal(existsSync(gone), false, `${gone} is gone`);
    });

    test('without --yes: the plan, and nothing changed', async () => {
      const plan = await restore();
      assert.equal(plan.exitCode, 0, plan.stdout + plan.stderr);
      assert.match(plan.stdout, /Restore from the drive/);
      assert.match(plan.stdout, /Dump: immich-db-\d{4}-\d{2}-\d{2}\.sql\.gz/);
      assert.match(
        plan.stdout,
        /database: immich-backup-agent-test\/postgres:17-pgvector .*already on this machine/,
      );
      assert.match(plan.stdout, /compose finds every image of the compose file here/);
      // Which compose runs it, and every service with its host mounts.
      assert.match(
        plan.stdout,
        flavour === 'v2'
          ? /Compose: docker compose \(v2\), services:/
          : /Compose: docker-compose \(v1\), services:/,
      );
      assert.ok(
        plan.stdout.includes(`mounts ${path.join(newRoot, 'library')} → `),
        'the server mounts the new library',
      );
      assert.match(plan.stdout, /Nothing was changed\. Run again with --yes/);
      assert.equal(existsSync(path.join(newRoot, 'immich-app')), false);
      assert.equal(existsSync(path.join(newRoot, 'library')), false);
      assert.equal(await isRunning(bed.database), false);
    });

    test('with --yes: the database row for row, the library file for file, the server running', async () => {
      const result = await restore('--yes');
      assert.equal(result.exitCode, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /Restored from the drive:/);
      // Every original in the library the bed wrote (external libraries' are not in it).
      const originals = bed.originals.originals.size;
      assert.ok(originals > 500, `${originals} originals`);
      assert.match(
        result.stdout,
        new RegExp(
          `Checked: .* stays up, \\d+ tables hold the dump's rows, and ${originals} originals the database references are in the library`,
        ),
      );

      const appDir = path.join(newRoot, 'immich-app');
      assert.deepEqual((await readdir(appDir)).sort(), ['.env', 'docker-compose.yml', 'postgres']);
      assert.equal((await stat(path.join(appDir, '.env'))).mode & 0o777, 0o600);

      assert.equal(await isRunning(bed.server), true, 'the server runs');
      assert.equal(await isRunning(bed.database), true, 'the database runs');
      const inspect = await execa('docker', [
        'inspect',
        '--format',
        '{{range .Mounts}}{{.Source}}={{.Destination}};{{end}}',
        bed.server,
      ]);
      assert.ok(
        inspect.stdout.includes(`${path.join(newRoot, 'library')}=/data;`),
        `the server mounts the new library: ${inspect.stdout}`,
      );

      const rowsAfter = await databaseSnapshot(bed.database);
      assert.deepEqual(diffSnapshots(rowsBefore, rowsAfter), []);
      assert.ok(Object.keys(rowsAfter.tables).length > 10, 'the real schema');

      const filesAfter = await snapshotTree(path.join(newRoot, 'library'));
      assert.deepEqual(filesAfter, filesBefore);
      for (const folder of [process.cwd(), newRoot, path.join(newRoot, 'immich-app')])
        assert.equal(existsSync(path.join(folder, 'PWNED')), false, 'no path ran as a command');
    });

    test('a second restore into the installed app folder is refused, nothing touched', async () => {
      const again = await restore('--yes');
      assert.equal(again.exitCode, 1, again.stdout + again.stderr);
      assert.match(again.stdout, /never writes over an installation/);
      assert.equal(await isRunning(bed.server), true);
    });
  });
