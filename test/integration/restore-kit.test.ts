import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { bundleAgent, bundleFile } from '../../scripts/bundle.js';
import type { RunRecord } from '../../src/history/record.js';
import { parseKitManifest, type KitManifest } from '../../src/restore-kit/kit-manifest.js';
import { agentEnv, repoRoot } from '../env/cli.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import { withDriveMounted } from '../env/inspect.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

const kitFiles = ['RESTORE.md', 'immich-backup-agent.mjs', 'restore-kit.json'];

describe('each backup leaves a restore kit on the drive', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  let first: RunRecord;
  let second: RunRecord;

  /** The kit's files as they are on the drive, with their inode numbers and sizes. */
  async function kitOnDrive(): Promise<{
    names: string[];
    manifest: KitManifest | { problem: string } | null;
    guide: string;
    files: Record<string, { ino: number; size: number }>;
  }> {
    return withDriveMounted(sandbox, bed.drive, async (root) => {
      const kitDir = path.join(root, 'immich-backup', 'restore-kit');
      const names = (await readdir(kitDir)).sort();
      const files: Record<string, { ino: number; size: number }> = {};
      for (const name of names) {
        const info = await stat(path.join(kitDir, name));
        files[name] = { ino: info.ino, size: info.size };
      }
      // A copy of the agent outside the project, for running it alone.
      const alone = sandbox.path('kit agent alone');
      await mkdir(alone, { recursive: true });
      if (names.includes('immich-backup-agent.mjs'))
        await copyFile(path.join(kitDir, 'immich-backup-agent.mjs'), path.join(alone, 'agent.mjs'));
      const manifestFile = path.join(kitDir, 'restore-kit.json');
      return {
        names,
        manifest: names.includes('restore-kit.json')
          ? parseKitManifest(await readFile(manifestFile, 'utf8'))
          : null,
        guide: await readFile(path.join(kitDir, 'RESTORE.md'), 'utf8'),
        files,
      };
    });
  }

  /** How long the kit step took, from the run's log events. */
  async function kitStepMs(): Promise<number[]> {
    const lines = (await readFile(bed.logFile, 'utf8')).split('\n').filter(Boolean);
    return lines
      .map((line) => JSON.parse(line) as { step?: string; durationMs?: number })
      .filter((event) => event.step === 'restore-kit' && typeof event.durationMs === 'number')
      .map((event) => event.durationMs as number);
  }

  before(async () => {
    sandbox = await createSandbox();
    // The installed agent finds the bundle where `npm run build` puts it.
    if (!existsSync(bundleFile)) await bundleAgent();
    bed = await createImmichBed(sandbox, { photos: 3, assets: 50 });
    await bed.writeConfig({ schedule: { syncWindowSeconds: 0 } });
    const run = await bed.run('run');
    assert.equal(run.exitCode, 0, run.stdout + run.stderr);
    first = await bed.lastRun();
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('after a backup the drive has RESTORE.md, restore-kit.json and the bundled agent', async (t) => {
    assert.equal(first.outcome, 'success', JSON.stringify([first.warnings, first.errors]));
    assert.deepEqual(first.restoreKit?.written, [
      'immich-backup-agent.mjs',
      'RESTORE.md',
      'restore-kit.json',
    ]);
    assert.equal(first.restoreKit?.unchanged, false);
    assert.equal(first.restoreKit?.images, null);
    const kit = await kitOnDrive();
    assert.deepEqual(kit.names, [...kitFiles].sort());
    assert.equal(
      first.restoreKit?.bytesWritten,
      Object.values(kit.files).reduce((sum, file) => sum + file.size, 0),
    );
    t.diagnostic(
      `first run: the kit took ${first.restoreKit?.bytesWritten} bytes, step ${(await kitStepMs()).join(', ')} ms`,
    );
  });

  test('restore-kit.json parses and names the database image the bed ran, by id', async () => {
    const kit = await kitOnDrive();
    assert.ok(kit.manifest && !('problem' in kit.manifest), JSON.stringify(kit.manifest));
    const imageId = (
      await execa('docker', ['inspect', '--format', '{{.Image}}', bed.database])
    ).stdout.trim();
    assert.equal(kit.manifest.images.database?.id, imageId);
    assert.equal(kit.manifest.immich.databaseContainer, bed.database);
    assert.match(kit.manifest.postgres.serverVersion ?? '', /^17\./);
    assert.equal(kit.manifest.postgres.major, 17);
    const agent = await readFile(bundleFile);
    const { createHash } = await import('node:crypto');
    assert.equal(kit.manifest.agent.sha256, createHash('sha256').update(agent).digest('hex'));
    // RESTORE.md names the same, and the library as one quoted word (the bed's path is awkward).
    assert.ok(kit.guide.includes(imageId));
    assert.ok(kit.guide.includes(`LIBRARY='${bed.libraryDir.replaceAll("'", `'\\''`)}'`));
  });

  test('a second backup with nothing changed writes nothing to the kit', async (t) => {
    const before = await kitOnDrive();
    const run = await bed.run('run');
    assert.equal(run.exitCode, 0, run.stdout + run.stderr);
    second = await bed.lastRun();
    assert.equal(second.outcome, 'success', JSON.stringify(second.warnings));
    assert.deepEqual(second.restoreKit, {
      written: [],
      unchanged: true,
      bytesWritten: 0,
      images: null,
    });
    const after = await kitOnDrive();
    assert.deepEqual(after.files, before.files, 'the same files, not rewritten');
    const durations = await kitStepMs();
    t.diagnostic(`unchanged run: 0 bytes added by the kit; kit step ${durations.at(-1)} ms`);
  });

  test('the bundled agent from the drive runs --help alone, outside the project, with only Node', async () => {
    const alone = sandbox.path('kit agent alone');
    assert.deepEqual(await readdir(alone), ['agent.mjs']);
    assert.ok(!alone.startsWith(repoRoot));
    const result = await execa(process.execPath, [path.join(alone, 'agent.mjs'), '--help'], {
      cwd: alone,
      reject: false,
      env: agentEnv(),
      stdin: 'ignore',
      timeout: 60_000,
    });
    assert.equal(result.exitCode, 0, String(result.stderr));
    assert.match(String(result.stdout), /Usage: immich-backup-agent/);
  });

  test('a backup run by the kit’s agent itself finds itself as the bundle and leaves the kit as it is', async () => {
    const agent = path.join(sandbox.path('kit agent alone'), 'agent.mjs');
    const before = await kitOnDrive();
    const result = await execa(process.execPath, [agent, '--config', bed.configFile, 'run'], {
      cwd: path.dirname(agent),
      reject: false,
      env: agentEnv(),
      stdin: 'ignore',
      timeout: 180_000,
    });
    assert.equal(result.exitCode, 0, String(result.stdout) + String(result.stderr));
    const record = await bed.lastRun();
    assert.equal(record.outcome, 'success', JSON.stringify(record.warnings));
    assert.deepEqual(record.restoreKit?.written, []);
    assert.deepEqual((await kitOnDrive()).files, before.files);
  });

  test('without the bundle the kit is RESTORE.md alone (no older agent or manifest) and the run is a RESTORE_KIT_FAILED warning', async () => {
    const aside = `${bundleFile}.aside`;
    await rename(bundleFile, aside);
    let record: RunRecord;
    try {
      const run = await bed.run('run');
      assert.equal(run.exitCode, 0, run.stdout + run.stderr);
      record = await bed.lastRun();
    } finally {
      await rename(aside, bundleFile);
    }
    assert.equal(record.outcome, 'warning');
    assert.equal(record.reason, 'RESTORE_KIT_FAILED');
    assert.match(record.warnings.join('\n'), /agent as one file is not in it/);
    assert.deepEqual(record.restoreKit?.written, ['RESTORE.md']);
    assert.equal(record.restoreKit?.unchanged, false);
    const kit = await kitOnDrive();
    assert.match(kit.guide, /holds no copy of the agent/);
    // The earlier run's agent and manifest are gone: nothing beside RESTORE.md contradicts it.
    assert.deepEqual(kit.names, ['RESTORE.md']);
    assert.equal(kit.manifest, null);
    // The next run with the bundle back writes the whole kit again, as the first did.
    const again = await bed.run('run');
    assert.equal(again.exitCode, 0, again.stdout + again.stderr);
    const next = await bed.lastRun();
    assert.equal(next.outcome, 'success', JSON.stringify(next.warnings));
    assert.deepEqual(next.restoreKit?.written, [
      'immich-backup-agent.mjs',
      'RESTORE.md',
      'restore-kit.json',
    ]);
    const whole = await kitOnDrive();
    assert.deepEqual(whole.names, [...kitFiles].sort());
    assert.ok(whole.manifest && !('problem' in whole.manifest), JSON.stringify(whole.manifest));
  });
});
