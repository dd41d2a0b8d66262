import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { renderUdevRule } from '../../src/install/templates.js';
import { cliPath, repoRoot } from '../env/cli.js';
import { createLoopDrive, type LoopDrive } from '../env/drive.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';
import { giveUdevRule } from '../env/udev-rule.js';

const seedUuid = 'ff12a215-2c2f-4649-a390-0d8a23e6ef0e';
const shippedRule = path.join(repoRoot, 'udev', '90-immich-backup-agent.rules');
const unitsDir = path.join(repoRoot, 'systemd');

function wantsOf(properties: string): string[] {
  const line = properties.split('\n').find((entry) => entry.startsWith('SYSTEMD_WANTS='));
  return line ? line.slice('SYSTEMD_WANTS='.length).split(/\s+/).filter(Boolean) : [];
}

describe('the shipped udev rule, on the real udevd', () => {
  let sandbox: Sandbox;
  let seedDrive: LoopDrive;
  let otherDrive: LoopDrive;

  before(async () => {
    sandbox = await createSandbox();
    seedDrive = await createLoopDrive(sandbox, { uuid: seedUuid, sizeMb: 16 });
    otherDrive = await createLoopDrive(sandbox, { sizeMb: 16 });
    // The shipped rule as install writes it for a configuration that allows loop devices (the
    // test's drives are loop devices), under a name of this test's own, at the same place.
    await giveUdevRule(sandbox, await renderUdevRule([seedUuid], { allowLoopDevices: true }));
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('sorts after 60-persistent-storage.rules, which sets ID_FS_UUID, and has no RUN', async () => {
    assert.ok(path.basename(shippedRule) > '60-persistent-storage.rules');
    const rules = (await readFile(shippedRule, 'utf8'))
      .split('\n')
      .filter((line) => line.trim() && !line.startsWith('#'));
    assert.equal(rules.length, 1, 'one rule line per drive');
    assert.match(
      rules[0] ?? '',
      /ACTION=="add", SUBSYSTEM=="block", KERNEL!="loop\*", ENV\{ID_FS_UUID\}=="ff12a215-2c2f-4649-a390-0d8a23e6ef0e", TAG\+="systemd", ENV\{SYSTEMD_WANTS\}\+="/,
    );
    assert.doesNotMatch(rules.join('\n'), /\bRUN\b|SYSTEMD_WANTS\}="/);
  });

  test('udevadm test: an add of the seed drive wants the shipped hotplug unit, another drive wants nothing', async () => {
    const seed = await execa(
      'udevadm',
      ['test', '--action=add', `/sys/class/block/${path.basename(seedDrive.device)}`],
      { all: true },
    );
    const wanted = wantsOf(String(seed.all));
    assert.deepEqual(wanted, ['immich-backup-agent-hotplug@.service']);
    assert.ok(
      (await readdir(unitsDir)).includes(wanted[0] ?? ''),
      'the wanted unit is shipped in systemd/',
    );

    const other = await execa(
      'udevadm',
      ['test', '--action=add', `/sys/class/block/${path.basename(otherDrive.device)}`],
      { all: true },
    );
    assert.match(
      String(other.all),
      new RegExp(`ID_FS_UUID=${otherDrive.uuid}`),
      'the other drive was probed',
    );
    assert.deepEqual(wantsOf(String(other.all)), []);

    const change = await execa(
      'udevadm',
      ['test', '--action=change', `/sys/class/block/${path.basename(seedDrive.device)}`],
      { all: true },
    );
    assert.deepEqual(
      wantsOf(String(change.all)),
      [],
      'a change event (loop attach) starts nothing',
    );
  });

  test('the shipped rule ignores a loop device (anyone may attach an image with the UUID) unless the configuration allows them', async () => {
    const simulate = async (): Promise<string[]> =>
      wantsOf(
        String(
          (
            await execa(
              'udevadm',
              ['test', '--action=add', `/sys/class/block/${path.basename(seedDrive.device)}`],
              { all: true },
            )
          ).all,
        ),
      );
    try {
      await giveUdevRule(sandbox, await readFile(shippedRule, 'utf8'));
      assert.deepEqual(await simulate(), [], 'the shipped rule: nothing for a loop device');
      await giveUdevRule(sandbox, await renderUdevRule([seedUuid]));
      assert.deepEqual(await simulate(), [], 'as install writes it by default');
    } finally {
      await giveUdevRule(sandbox, await renderUdevRule([seedUuid], { allowLoopDevices: true }));
    }
    assert.deepEqual(await simulate(), ['immich-backup-agent-hotplug@.service']);
  });

  test('a real add event through udevd records SYSTEMD_WANTS for the seed drive only', async () => {
    for (const drive of [seedDrive, otherDrive]) {
      await execa('udevadm', ['trigger', '--action=add', drive.device]);
    }
    await execa('udevadm', ['settle', '--timeout=30']);
    const seed = await execa('udevadm', ['info', '--query=property', `--name=${seedDrive.device}`]);
    assert.deepEqual(wantsOf(seed.stdout), ['immich-backup-agent-hotplug@.service']);
    assert.match(seed.stdout, /^TAGS=.*:systemd:/m);
    const other = await execa('udevadm', [
      'info',
      '--query=property',
      `--name=${otherDrive.device}`,
    ]);
    assert.deepEqual(wantsOf(other.stdout), []);
  });
});

describe('the shipped systemd units', () => {
  let sandbox: Sandbox;
  let dir: string;

  before(async () => {
    sandbox = await createSandbox();
    dir = sandbox.path('units');
    await mkdir(dir);
    // As the installer will: the real path of the agent instead of /usr/local/bin, and the
    // template instantiated the way systemd does for a loop device's sysfs path.
    await chmod(cliPath, 0o755);
    for (const name of await readdir(unitsDir)) {
      const text = (await readFile(path.join(unitsDir, name), 'utf8')).replaceAll(
        '/usr/local/bin/immich-backup-agent',
        cliPath,
      );
      await writeFile(
        path.join(dir, name.replace('@.service', '@sys-devices-virtual-block-loop0.service')),
        text,
      );
    }
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('every unit passes systemd-analyze verify', async () => {
    const units = await readdir(dir);
    assert.ok(units.length >= 2);
    const result = await execa('systemd-analyze', ['verify', ...units], {
      cwd: dir,
      reject: false,
      all: true,
    });
    assert.equal(result.exitCode, 0, String(result.all));
    assert.equal(String(result.all).trim(), '', 'no warnings either');
  });

  test('the hotplug unit is a oneshot that treats 75 as success, binds to the drive and recovers after itself', async () => {
    const text = await readFile(
      path.join(unitsDir, 'immich-backup-agent-hotplug@.service'),
      'utf8',
    );
    for (const line of [
      'Type=oneshot',
      'SuccessExitStatus=75',
      'BindsTo=%i.device',
      'ExecStart=/usr/local/bin/immich-backup-agent run --trigger hotplug --device %f',
      'ExecStopPost=/usr/local/bin/immich-backup-agent recover',
      'KillMode=mixed',
    ]) {
      assert.ok(text.split('\n').includes(line), `has ${line}`);
    }
    const daemon = await readFile(path.join(unitsDir, 'immich-backup-agent.service'), 'utf8');
    for (const line of [
      'ExecStart=/usr/local/bin/immich-backup-agent daemon',
      'Restart=on-failure',
      'WantedBy=multi-user.target',
      'ExecStopPost=/usr/local/bin/immich-backup-agent recover',
    ]) {
      assert.ok(daemon.split('\n').includes(line), `the daemon unit has ${line}`);
    }
  });

  test('every unit’s exposure (systemd-analyze security --offline) is at most 5.5', async () => {
    for (const unit of await readdir(dir)) {
      const result = await execa(
        'systemd-analyze',
        ['security', '--offline=true', '--no-pager', unit],
        { cwd: dir, reject: false, all: true },
      );
      const match = /Overall exposure level for .*: (\d+(?:\.\d+)?)/.exec(String(result.all));
      assert.ok(match, `an exposure figure for ${unit}: ${String(result.all).slice(-300)}`);
      assert.ok(Number(match[1]) <= 5.5, `${unit} exposure ${match[1]} ≤ 5.5`);
    }
  });

  test('every line of the units and the rule is explained by a comment nearby', async () => {
    for (const file of [
      ...(await readdir(unitsDir)).map((name) => path.join(unitsDir, name)),
      shippedRule,
    ]) {
      const lines = (await readFile(file, 'utf8')).split('\n');
      const comments = lines.filter((line) => line.startsWith('#')).length;
      const settings = lines.filter((line) => /^[A-Za-z]/.test(line)).length;
      assert.ok(
        comments >= settings / 2,
        `${path.basename(file)}: ${comments} comment lines for ${settings} settings`,
      );
    }
  });
});
