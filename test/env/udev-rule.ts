import { mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { udevRulesDir, type Sandbox } from './sandbox.js';

/**
 * Gives the running udevd a rule of this sandbox's own (named …iba-test-<sandbox id>…, at the
 * shipped rule's place in the order, so reap.ts can find it), and takes it away again, also on
 * failure. Creates /run/udev/rules.d when it is not there (on a freshly booted machine nothing
 * has made it yet) and removes it again if it made it and it is empty then.
 */
export async function giveUdevRule(sandbox: Sandbox, text: string): Promise<string> {
  const made = await mkdir(udevRulesDir, { recursive: true });
  const rule = path.join(udevRulesDir, `90-immich-backup-agent-iba-test-${sandbox.id}.rules`);
  sandbox.defer('remove the test rule', async () => {
    await rm(rule, { force: true });
    if (made) await rmdir(made).catch(() => undefined);
    await execa('udevadm', ['control', '--reload'], { reject: false });
  });
  await writeFile(rule, text);
  await execa('udevadm', ['control', '--reload']);
  return rule;
}
