import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { createProcessGateway } from '../../../src/adapters/process.js';
import {
  exactPattern,
  rsyncArguments,
  syncLibrary,
  unescapeRsyncName,
} from '../../../src/adapters/rsync.js';
import { countItem, emptyChanges } from '../../../src/adapters/rsync-output.js';

/** Names that break scripts, and what rsync printed for each (rsync 3.5.0, LC_ALL=C, `%n`). */
const printedByRsync: [name: string, printed: string][] = [
  ['new\nline', 'new\\#012line'],
  ['cr\rx', 'cr\\#015x'],
  ['tab\there', 'tab\there'],
  ['back\\slash', 'back\\slash'],
  ['lit\\#134x', 'lit\\#134#134x'],
  ['emoji 📷 Ünï', 'emoji \\#360\\#237\\#223\\#267 \\#303\\#234n\\#303\\#257'],
  [`quo'te"s`, `quo'te"s`],
  ['star*q?b[x]', 'star*q?b[x]'],
  ['del\x7fx', 'del\x7fx'],
  ['trail ', 'trail '],
];

describe('rsync’s printed names are read back exactly', () => {
  for (const [name, printed] of printedByRsync) {
    test(`${JSON.stringify(printed)} is ${JSON.stringify(name)}`, () => {
      assert.equal(unescapeRsyncName(printed), name);
    });
  }

  test('a name that is not UTF-8 is null, not a guess', () => {
    assert.equal(unescapeRsyncName('bad\\#377x'), null);
    assert.equal(unescapeRsyncName('decoded \uFFFD garbage'), null);
  });

  test('a backslash and # without three octal digits stays as it is', () => {
    assert.equal(unescapeRsyncName('a\\#9b'), 'a\\#9b');
    assert.equal(unescapeRsyncName('a\\#12'), 'a\\#12');
  });

  test('replaced files are listed up to the limit, the rest only counted', () => {
    const changes = emptyChanges(2);
    for (const line of [
      '>f.st...... 10 upload/a\\#012b.jpg',
      '>f+++++++++ 10 upload/new.jpg',
      'cf.st...... 10 library/b.jpg',
      '.d..t...... 0 library/',
      '>f..t...... 10 library/c.jpg',
      '>f.s....... 10 library/bad\\#377.jpg',
    ])
      assert.equal(countItem(line, changes), true);
    assert.deepEqual(changes.replacedPaths, ['upload/a\nb.jpg', 'library/b.jpg']);
    assert.equal(changes.replacedFiles, 4);
    assert.equal(changes.replacedNotListed, 1);
    assert.equal(changes.replacedNotUtf8, 1);
    assert.equal(changes.createdFiles, 1);
  });

  test('without a limit no path is kept', () => {
    const changes = emptyChanges();
    countItem('>f.st...... 10 upload/a.jpg', changes);
    assert.deepEqual(changes.replacedPaths, []);
    assert.equal(changes.replacedFiles, 1);
  });
});

describe('files to leave alone become exact rsync patterns', () => {
  test('a name without wildcards is taken literally, backslashes and all', () => {
    assert.equal(exactPattern('library/back\\slash.jpg'), '/library/back\\slash.jpg');
    assert.equal(exactPattern('upload/#hash; - x'), '/upload/#hash; - x');
  });

  test('a name with a wildcard has \\ * ? [ escaped', () => {
    assert.equal(exactPattern('a/st*r?[x]\\y.jpg'), '/a/st\\*r\\?\\[x]\\\\y.jpg');
  });

  test('an absolute, empty or NUL-holding path is refused', () => {
    assert.throws(() => exactPattern('/etc/passwd'));
    assert.throws(() => exactPattern(''));
    assert.throws(() => exactPattern('a\0b'));
  });

  test('the patterns go on stdin (--from0 --exclude-from=-), before the folder rules', () => {
    const args = rsyncArguments({
      source: '/library',
      destination: '/drive/files',
      filesystemType: 'ext4',
      excludeFolders: ['thumbs'],
      leaveAlone: ['upload/x.jpg'],
    });
    const from0 = args.indexOf('--from0');
    assert.ok(from0 >= 0);
    assert.equal(args[from0 + 1], '--exclude-from=-');
    assert.ok(from0 < args.indexOf('--exclude=/thumbs/'));
    assert.ok(!args.some((argument) => argument.includes('x.jpg')), 'never as an argument');
    const none = rsyncArguments({ source: '/l', destination: '/d', filesystemType: 'ext4' });
    assert.ok(!none.includes('--from0'));
  });
});

describe('with a real rsync: awkward names listed and left alone exactly', () => {
  let root: string;
  const gateway = createProcessGateway({ logger: pino({ level: 'silent' }), secrets: [] });
  const names = [
    'new\nline.jpg',
    'tab\there.jpg',
    'back\\slash.jpg',
    'lit\\#134x.jpg',
    'emoji 📷 Ünï.jpg',
    `quo'te"s.jpg`,
    'star*q?b[x].jpg',
    'sub/a\\*b.jpg',
    'trail ',
    '#hash',
    '- dash',
  ];
  // Near misses: what a too-wide pattern would also catch.
  const others = ['starXqYbx.jpg', 'sub/a\\b.jpg', 'sub/aXb.jpg', 'trail', 'plain.jpg'];
  const source = (): string => path.join(root, 'library');
  const destination = (): string => path.join(root, 'files');

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'iba-rsync-names-'));
    for (const name of [...names, ...others]) {
      for (const [side, content] of [
        [destination(), 'old'],
        [source(), 'new content'],
      ] as const) {
        await mkdir(path.dirname(path.join(side, name)), { recursive: true });
        await writeFile(path.join(side, name), content);
        await utimes(path.join(side, name), 1e9, side === source() ? 1.7e9 : 1.6e9);
      }
    }
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('a dry run lists every replaced file by its exact name', async () => {
    const result = await syncLibrary(
      gateway,
      {
        source: source(),
        destination: destination(),
        filesystemType: 'ext4',
        timeoutMs: 60_000,
        itemize: true,
        listReplaced: 1000,
      },
      true,
    );
    assert.deepEqual(
      [...(result.changes?.replacedPaths ?? [])].sort(),
      [...names, ...others].sort(),
    );
  });

  test('a copy leaves exactly the listed files alone and copies the rest', async () => {
    await syncLibrary(gateway, {
      source: source(),
      destination: destination(),
      filesystemType: 'ext4',
      timeoutMs: 60_000,
      leaveAlone: names,
    });
    for (const name of names)
      assert.equal(await readFile(path.join(destination(), name), 'utf8'), 'old', name);
    for (const name of others)
      assert.equal(await readFile(path.join(destination(), name), 'utf8'), 'new content', name);
  });
});
