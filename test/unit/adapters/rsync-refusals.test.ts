import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createRefusalReader,
  failedPath,
  notStoredReader,
  unescapeRsyncName,
} from '../../../src/adapters/rsync-refusals.js';

const destination = '/media/Backup 1/immich-backup/files';

describe('unescapeRsyncName puts back the bytes rsync writes as \\#ooo under LC_ALL=C', () => {
  test('UTF-8 names come back whole, emoji included', () => {
    assert.equal(
      unescapeRsyncName('\\#303\\#234n\\#303\\#257c \\#360\\#237\\#223\\#267.heic'),
      'Ünïc 📷.heic',
    );
  });
  test('a control character (a newline in a name) comes back as itself', () => {
    assert.equal(unescapeRsyncName('line\\#012break.jpg'), 'line\nbreak.jpg');
  });
  test('a name without escapes, backslashes and quotes included, is left as it is', () => {
    assert.equal(unescapeRsyncName(`a\\b "c" 'd'.jpg`), `a\\b "c" 'd'.jpg`);
  });
});

describe('failedPath finds the library path an rsync error line is about', () => {
  const cases: { line: string; path: string; kind: 'file' | 'folder' }[] = [
    {
      line: `rsync: [receiver] mkstemp "${destination}/library/admin/.colon:x.jpg.SDwvjH" failed: No such file or directory (2)`,
      path: 'library/admin/colon:x.jpg',
      kind: 'file',
    },
    {
      line: `rsync: [receiver] mkstemp "${destination}/a/.Photo "quoted" 'single'.jpg.Ab12Cd" failed: Operation not permitted (1)`,
      path: `a/Photo "quoted" 'single'.jpg`,
      kind: 'file',
    },
    {
      line: `rsync: [receiver] mkstemp "${destination}/a/.line\\#012break.jpg.Q1w2E3" failed: No such file or directory (2)`,
      path: 'a/line\nbreak.jpg',
      kind: 'file',
    },
    {
      line: `rsync: [generator] recv_generator: mkdir "${destination}/bad:dir" failed: No such file or directory (2)`,
      path: 'bad:dir',
      kind: 'folder',
    },
    {
      line: `rsync: [receiver] rename "${destination}/bad/.trail.R0zZrP" -> "bad/trail.": Invalid argument (22)`,
      path: 'bad/trail.',
      kind: 'file',
    },
    {
      line: `rsync: [receiver] mkstemp "${destination}/.top?.jpg.XXXXXX" failed: Invalid argument (22)`,
      path: 'top?.jpg',
      kind: 'file',
    },
  ];
  for (const { line, path, kind } of cases) {
    test(`${JSON.stringify(path)} from ${line.slice(0, 40)}…`, () => {
      assert.deepEqual(failedPath(line, destination), { path, kind });
    });
  }
  test('a line without a quoted path names nothing', () => {
    assert.equal(failedPath('rsync: connection unexpectedly closed', destination), null);
  });
});

describe('createRefusalReader tells the names a drive refuses from real errors', () => {
  const refused = [
    `rsync: [receiver] mkstemp "${destination}/a/.x:y.jpg.abcdef" failed: No such file or directory (2)`,
    `rsync: [receiver] mkstemp "${destination}/a/.\\#303\\#234.jpg.abcdef" failed: Operation not permitted (1)`,
    `rsync: [generator] recv_generator: mkdir "${destination}/bad:dir" failed: Invalid argument (22)`,
    '*** Skipping any contents from this failed directory ***',
    'rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]',
  ];

  test('fed in pieces that split lines, it counts refusals and keeps their paths', () => {
    const reader = createRefusalReader(destination);
    const text = refused.join('\n') + '\n';
    for (let index = 0; index < text.length; index += 17)
      reader.feed(text.slice(index, index + 17));
    assert.equal(reader.refused, 3);
    assert.equal(reader.otherErrors, 0);
    assert.deepEqual([...reader.refusedFiles].sort(), ['a/x:y.jpg', 'a/Ü.jpg']);
    assert.deepEqual([...reader.refusedFolders], ['bad:dir']);
  });

  test('rsync before 3.2.4 writes no [receiver] tag: its refusals are recognised too', () => {
    const reader = createRefusalReader(destination);
    reader.feed(
      `rsync: mkstemp "${destination}/a/.x:y.jpg.abcdef" failed: No such file or directory (2)\n` +
        `rsync: recv_generator: mkdir "${destination}/b?c" failed: Invalid argument (22)\n` +
        `rsync: rename "${destination}/a/.d..Q1w2E3" -> "a/d.": Invalid argument (22)\n`,
    );
    assert.equal(reader.refused, 3);
    assert.equal(reader.otherErrors, 0);
    assert.deepEqual([...reader.refusedFiles].sort(), ['a/d.', 'a/x:y.jpg']);
  });

  test('an error line of another form (no "rsync:" in front) is an error, not ignored', () => {
    const reader = createRefusalReader(destination);
    reader.feed('ERROR: a/b.jpg failed verification -- update discarded.\n');
    assert.equal(reader.otherErrors, 1);
  });

  test('an I/O error, a full drive or an unreadable library file is not a refusal', () => {
    const reader = createRefusalReader(destination);
    reader.feed(
      [
        `rsync: [receiver] write failed on "${destination}/a/big.mp4": Input/output error (5)`,
        `rsync: [sender] send_files failed to open "/srv/library/a/b.jpg": Permission denied (13)`,
        `rsync: [receiver] mkstemp "${destination}/a/.c.jpg.abcdef" failed: No space left on device (28)`,
        `rsync: [sender] file has vanished: "/srv/library/a/gone.jpg"`,
        '',
      ].join('\n'),
    );
    assert.equal(reader.refused, 0);
    assert.equal(reader.otherErrors, 3, 'a vanished file is not counted');
    assert.equal(reader.otherExamples.length, 3);
  });
});

describe('notStoredReader names every file a copy left out, and only those', () => {
  test('refused files, files in refused folders, and names the filesystem forbids', () => {
    const refusals = createRefusalReader(destination);
    refusals.feed(
      `rsync: [receiver] mkstemp "${destination}/a/.\\#303\\#234.jpg.abcdef" failed: Operation not permitted (1)\n` +
        `rsync: [generator] recv_generator: mkdir "${destination}/bad:dir" failed: No such file or directory (2)\n`,
    );
    const reader = notStoredReader('exfat', refusals);
    reader.feed(
      [
        '>f+++++++++ 300 a/\\#303\\#234.jpg',
        '>f+++++++++ 10 bad:dir/x.jpg',
        '>f+++++++++ 20 bad:dir/deeper/y.jpg',
        'cd+++++++++ 0 bad:dir/',
        '>f.st...... 500 a/changed-during-the-copy.jpg',
        '>f+++++++++ 7 b/what?.jpg',
      ].join('\n') + '\n',
    );
    const { notStored, attempted } = reader.result();
    assert.deepEqual(notStored.names.sort(), [
      'a/Ü.jpg',
      'b/what?.jpg',
      'bad:dir/deeper/y.jpg',
      'bad:dir/x.jpg',
    ]);
    assert.equal(notStored.files, 4);
    // rsync tried (and counted as transferred) the refused file; the folder's files never.
    assert.deepEqual(attempted, { files: 1, bytes: 300 });
  });

  test('on FAT32, files of 4 GiB or more are named; on exFAT they are not', () => {
    const line = `>f+++++++++ ${4 * 1024 ** 3} video/long.mp4\n`;
    const fat = notStoredReader('vfat', null);
    fat.feed(line);
    assert.deepEqual(fat.result().notStored, { files: 1, names: ['video/long.mp4'] });
    const exfat = notStoredReader('exfat', null);
    exfat.feed(line);
    assert.equal(exfat.result().notStored.files, 0);
  });

  test('it keeps a thousand names and counts on', () => {
    const reader = notStoredReader('exfat', null);
    for (let index = 0; index < 1500; index += 1) reader.feed(`>f+++++++++ 1 a/${index}:x.jpg\n`);
    const { notStored } = reader.result();
    assert.equal(notStored.files, 1500);
    assert.equal(notStored.names.length, 1000);
  });
});
