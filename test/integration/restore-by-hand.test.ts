import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { bundleAgent, bundleFile } from '../../scripts/bundle.js';
import { shellQuote } from '../../src/restore-kit/text-quoting.js';
import { loseTheMachine, makeComposeBed, type ComposeBed } from '../env/compose-bed.js';
import { isRunning } from '../env/containers.js';
import {
  databaseSnapshot,
  diffSnapshots,
  type DatabaseSnapshot,
} from '../env/database-snapshot.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { snapshotTree } from '../env/library.js';
import { byHandSection, guideBlocks, type GuideBlock } from '../env/restore-md-blocks.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';
import { openTerminal, type Terminal } from '../env/terminal.js';

/**
 * RESTORE.md is enough without the agent: a real-schema Immich (the test bed's, with a compose
 * file compose can start here) is backed up with its images saved in the kit; then everything
 * but the drive and the base images goes; a newcomer on the new machine reads the drive's
 * RESTORE.md and pastes its "By hand" blocks one at a time into one root bash, filling in only
 * what the guide says to fill (the drive's mount point, the app and library folders, `.env`'s two
 * lines), and Immich is compared with what was: every table's rows, the library file for file,
 * the server running. `docker compose` is the v2 plugin the test bed installs, as most machines
 * have it.
 */
describe('restore by hand: RESTORE.md followed without the agent brings Immich back', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  let composeBed: ComposeBed;
  let rowsBefore: DatabaseSnapshot;
  let filesBefore: Map<string, string>;
  let newRoot: string;
  let mountPoint: string;
  let blocks: GuideBlock[];
  let terminal: Terminal;

  before(async () => {
    sandbox = await createSandbox();
    if (!existsSync(bundleFile)) await bundleAgent();
    // The space check counts an image at its unpacked size (PostgreSQL's is about 480 MB).
    bed = await createImmichBed(sandbox, { photos: 12, assets: 600, driveSizeMb: 900 });
    await bed.writeConfig({ restoreKit: { images: true } });
    composeBed = await makeComposeBed(bed);
    rowsBefore = await databaseSnapshot(bed.database);
    filesBefore = await snapshotTree(bed.libraryDir);
    const run = await bed.run('run');
    assert.equal(run.exitCode, 0, run.stdout + run.stderr);

    await loseTheMachine(bed, composeBed);

    // The new machine: no `'` in its paths (the guide says .env cannot hold one), the rest awkward.
    newRoot = sandbox.path(`new machine $(touch PWNED) "dq" ü 📷`);
    mountPoint = path.join(newRoot, 'media', 'Backup 1');
    await bed.drive.mountAt(mountPoint);
    sandbox.defer('unmount the drive on the new machine', () => bed.drive.unmountAll());
    const guide = await readFile(
      path.join(mountPoint, 'immich-backup', 'restore-kit', 'RESTORE.md'),
      'utf8',
    );
    blocks = guideBlocks(byHandSection(guide));
    terminal = openTerminal(sandbox, { cwd: newRoot, path: process.env.PATH ?? '' });
  });
  after(async () => {
    await sandbox?.dispose();
  });

  const newApp = () => path.join(newRoot, 'immich-app');
  const newLibrary = () => path.join(newRoot, 'library');

  /** One line of `body` that starts with `start`, replaced by `replace(line)`: it must be there once. */
  const fill = (body: string, start: string, replace: (line: string) => string): string => {
    const lines = body.split('\n');
    const at = lines.filter((line) => line.startsWith(start));
    assert.equal(at.length, 1, `the block has one line starting ${start}:\n${body}`);
    return lines.map((line) => (line.startsWith(start) ? replace(line) : line)).join('\n');
  };

  test('the guide by hand: blocks to paste, the .env lines to set, no agent', () => {
    assert.ok(
      blocks.some((block) => block.body.includes('docker load --input')),
      'the images come from the kit',
    );
    assert.deepEqual(
      blocks.map((block) => block.label),
      ['bash', 'dotenv', 'bash', 'bash', 'bash'],
    );
    for (const block of blocks)
      assert.doesNotMatch(block.body, /immich-backup-agent\.mjs|restore --from-drive/);
  });

  test('pasted one block at a time, as the guide says, each ends without STOPPED', async () => {
    const [variables, dotenv, ...rest] = blocks as [GuideBlock, GuideBlock, ...GuideBlock[]];
    // 1: the drive's mount point and the new folders, the only values the reader fills in.
    let first = fill(variables.body, 'BACKUP=/media/backup-drive/', (line) =>
      line.replace('/media/backup-drive', shellQuote(mountPoint)),
    );
    first = fill(first, 'APP=', () => `APP=${shellQuote(newApp())}`);
    first = fill(first, 'LIBRARY=', () => `LIBRARY=${shellQuote(newLibrary())}`);
    const copied = await terminal.paste(first);
    assert.match(copied.stdout, /^Copied into /m, terminal.transcript());

    // 2: the editor: the two lines made as the guide shows them, <LIBRARY> and <APP> filled in.
    const envFile = path.join(newApp(), '.env');
    let env = await readFile(envFile, 'utf8');
    for (const wanted of dotenv.body.split('\n')) {
      const line = wanted.replaceAll('<LIBRARY>', newLibrary()).replaceAll('<APP>', newApp());
      const key = line.slice(0, line.indexOf('='));
      assert.match(env, new RegExp(`^${key}=`, 'm'), `the backed-up .env has ${key}`);
      env = env.replace(new RegExp(`^${key}=.*$`, 'm'), () => line);
    }
    await writeFile(envFile, env);

    // 3 to 5: as they are.
    for (const block of rest) {
      const printed = await terminal.paste(block.body);
      assert.doesNotMatch(printed.stdout, /STOPPED/, `${block.step}:\n${terminal.transcript()}`);
    }
    const said = terminal.transcript();
    assert.match(said, /^Ready: immich-backup-agent-test\/postgres:17-pgvector$/m);
    assert.match(said, /^Database ready: yes /m);
    assert.match(said, /^The database is restored from .*immich-db-\d{4}-\d{2}-\d{2}\.sql\.gz\.$/m);
    assert.match(said, /^The library is copied into /m);
    assert.match(said, /^Immich is starting/m);
  });

  test('the database row for row, the library file for file, the server running on it', async () => {
    assert.equal(await isRunning(bed.server), true, 'the server runs');
    assert.equal(await isRunning(bed.database), true, 'the database runs');
    const inspect = await execa('docker', [
      'inspect',
      '--format',
      '{{range .Mounts}}{{.Source}}={{.Destination}};{{end}}',
      bed.server,
    ]);
    assert.ok(
      inspect.stdout.includes(`${newLibrary()}=/data;`),
      `the server mounts the new library: ${inspect.stdout}`,
    );
    const rowsAfter = await databaseSnapshot(bed.database);
    assert.deepEqual(diffSnapshots(rowsBefore, rowsAfter), []);
    assert.ok(Object.keys(rowsAfter.tables).length > 10, 'the real schema');
    assert.deepEqual(await snapshotTree(newLibrary()), filesBefore);
    for (const folder of [process.cwd(), newRoot, newApp()])
      assert.equal(existsSync(path.join(folder, 'PWNED')), false, 'no path ran as a command');
  });
});
