import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { agentEnv, repoRoot } from '../env/cli.js';

// The README's first command, `npm run demo`, is `bash scripts/demo.sh`: npm ci, setup.sh and a
// build (all done already by this suite), then scripts/demo.ts. That last part runs here as is.
test('the quick start demo backs up by plug-in and by hand, verifies, and removes everything', async () => {
  const demo = await execa('node', ['--import', 'tsx', path.join(repoRoot, 'scripts/demo.ts')], {
    cwd: repoRoot,
    reject: false,
    all: true,
    env: agentEnv(),
    timeout: 600_000,
  });
  assert.equal(demo.exitCode, 0, demo.all);
  assert.match(
    demo.all,
    /udev tagged the drive for systemd and wants: immich-backup-agent-hotplug@/,
  );
  assert.match(demo.all, /immich-backup-agent --config .* run \(a manual run always runs\)/);
  assert.match(
    demo.all,
    /Demo done: backed up by plug-in and by hand, verified, and everything removed/,
  );
});
