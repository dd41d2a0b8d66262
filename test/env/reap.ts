/**
 * Removes what killed test runs left behind, and only that: sandboxes under /tmp/iba-test whose
 * owner process is gone. For each: the mounts under it, the loop devices backed by its images,
 * the containers labelled with it, then the folder. Run by setup.sh before every test run, so
 * the suite passes after a run that was killed half-way.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { readMountinfo } from '../../src/adapters/mountinfo.js';
import { processStart } from '../../src/session/lock.js';
import { ownerLabel } from './containers.js';
import { testBedRoot, udevRulesDir } from './sandbox.js';

async function ownerAlive(dir: string): Promise<boolean> {
  try {
    const owner = JSON.parse(await readFile(path.join(dir, '.owner'), 'utf8')) as {
      pid: number;
      start: string | null;
    };
    return (await processStart(owner.pid)) === owner.start;
  } catch {
    return false;
  }
}

async function reap(dir: string, id: string): Promise<void> {
  const mounts = (await readMountinfo()).filter(
    (entry) => entry.mountPoint === dir || entry.mountPoint.startsWith(`${dir}/`),
  );
  for (const entry of mounts.sort((a, b) => b.mountPoint.length - a.mountPoint.length)) {
    await execa('umount', ['--', entry.mountPoint], { reject: false });
  }
  const loops = await execa('losetup', ['--list', '--json', '--output', 'NAME,BACK-FILE'], {
    reject: false,
  });
  if (loops.exitCode === 0 && loops.stdout.trim()) {
    const devices = (
      JSON.parse(loops.stdout) as { loopdevices: { name: string; 'back-file': string | null }[] }
    ).loopdevices;
    for (const device of devices) {
      if (device['back-file']?.startsWith(`${dir}/`))
        await execa('losetup', ['--detach', device.name], { reject: false });
    }
  }
  const containers = await execa(
    'docker',
    ['ps', '--all', '--quiet', '--filter', `label=${ownerLabel}=${id}`],
    { reject: false },
  );
  for (const container of containers.stdout.split('\n').filter(Boolean)) {
    await execa('docker', ['rm', '--force', '--volumes', container], { reject: false });
  }
  for (const rule of await readdir(udevRulesDir).catch(() => [] as string[])) {
    if (rule.includes(`iba-test-${id}`)) await rm(path.join(udevRulesDir, rule), { force: true });
  }
  await rm(dir, { recursive: true, force: true });
}

const entries = await readdir(testBedRoot).catch(() => [] as string[]);
let reaped = 0;
for (const id of entries) {
  const dir = path.join(testBedRoot, id);
  if (await ownerAlive(dir)) continue;
  await reap(dir, id);
  reaped += 1;
}
if (reaped > 0) console.log(`[test bed] removed what ${reaped} killed test run(s) left behind`);
