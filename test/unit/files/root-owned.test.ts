import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathProblems } from '../../../src/files/root-owned.js';

const user = 1000;
let root: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'root-owned-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A folder under the test's own, with this owner and mode (chmod after mkdir: no umask). */
async function folder(name: string, mode: number, owner = 0): Promise<string> {
  const made = path.join(root, name);
  await mkdir(made, { recursive: true });
  await chown(made, owner, owner);
  await chmod(made, mode);
  return made;
}

describe(
  'pathProblems: may root trust what is at this path?',
  { skip: process.getuid?.() !== 0 },
  () => {
    test('a file in folders of root’s that only root can write: no problem', async () => {
      const safe = await folder('safe', 0o755);
      assert.deepEqual(pathProblems(path.join(safe, 'config.yml')), []);
    });

    test('a file that does not exist yet, nor its folder, is judged by the folders that exist', async () => {
      const safe = await folder('safe-missing', 0o755);
      assert.deepEqual(pathProblems(path.join(safe, 'not', 'yet', 'agent.log')), []);
    });

    const refused: { name: string; mode: number; owner: number; expected: RegExp }[] = [
      { name: 'user-owned', mode: 0o755, owner: user, expected: /owned by uid 1000, not root/ },
      {
        name: 'world-writable',
        mode: 0o777,
        owner: 0,
        expected: /writable by its group and others \(mode 777\)/,
      },
      {
        name: 'group-writable',
        mode: 0o775,
        owner: 0,
        expected: /writable by its group \(mode 775\)/,
      },
      {
        name: 'sticky-holder',
        mode: 0o1777,
        owner: 0,
        expected: /writable by its group and others/,
      },
    ];
    for (const { name, mode, owner, expected } of refused) {
      test(`a file in a ${name} folder is refused: ${expected.source}`, async () => {
        const holder = await folder(name, mode, owner);
        const problems = pathProblems(path.join(holder, 'agent.log'));
        assert.equal(problems.length, 1, problems.join('\n'));
        assert.match(problems[0] ?? '', expected);
      });
      if (name === 'sticky-holder') continue; // on the way, a sticky folder is fine (below)
      test(`a file two folders below a ${name} folder is refused too`, async () => {
        const above = await folder(`${name}-above`, mode, owner);
        const below = path.join(above, 'root-folder');
        await mkdir(below, { recursive: true });
        await chmod(below, 0o755);
        await chown(below, 0, 0);
        const problems = pathProblems(path.join(below, 'agent.log'));
        assert.ok(
          problems.some((problem) => expected.test(problem) || /owned by uid/.test(problem)),
          problems.join('\n'),
        );
      });
    }

    test('a sticky folder writable by all on the way (like /tmp) is fine: root’s entries there are root’s to move', async () => {
      const sticky = await folder('sticky', 0o1777);
      const mine = path.join(sticky, 'root-owned');
      await mkdir(mine, { mode: 0o700 });
      assert.deepEqual(pathProblems(path.join(mine, 'agent.log')), []);
    });

    test('a folder of root’s reached through a symlink into a user’s folder is refused', async () => {
      const userFolder = await folder('user-home', 0o755, user);
      const inside = path.join(userFolder, 'logs');
      await mkdir(inside);
      await chmod(inside, 0o755);
      const safe = await folder('safe-with-link', 0o755);
      await symlink(inside, path.join(safe, 'logs'));
      const problems = pathProblems(path.join(safe, 'logs', 'agent.log'));
      assert.ok(
        problems.some((problem) => /user-home is owned by uid 1000/.test(problem)),
        problems.join('\n'),
      );
    });
  },
);
