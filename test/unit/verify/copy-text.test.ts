import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  byteaBytes,
  copyFields,
  parseCopyStatement,
  sha1Hex,
  unescapeCopyText,
} from '../../../src/verify/copy-text.js';
import { connectTarget } from '../../../src/verify/dump-connect.js';

describe('a COPY text field is unescaped as PostgreSQL writes it', () => {
  test('every one-letter escape and the backslash itself', () => {
    assert.equal(unescapeCopyText('a\\bb\\fc\\nd\\re\\tf\\vg\\\\h'), 'a\bb\fc\nd\re\tf\vg\\h');
  });

  test('octal escapes of one to three digits, and bytes that together are UTF-8', () => {
    assert.equal(unescapeCopyText('\\101\\60\\7x'), 'A0\u0007x');
    // 📷 is F0 9F 93 B7: four byte escapes make one character.
    assert.equal(unescapeCopyText('\\360\\237\\223\\267!'), '📷!');
    assert.equal(unescapeCopyText('\\1012'), 'A2', 'at most three digits');
  });

  test('hex escapes of one or two digits; \\x without a digit is an x', () => {
    assert.equal(unescapeCopyText('\\x41\\x9Z'), 'A\tZ');
    assert.equal(unescapeCopyText('\\xg'), 'xg');
    assert.equal(unescapeCopyText('\\xC3\\xBC'), 'ü');
  });

  test('any other character after a backslash stands for itself', () => {
    assert.equal(unescapeCopyText('\\.\\q\\"'), '.q"');
    assert.equal(unescapeCopyText('trailing\\'), 'trailing\\');
  });

  test('text without a backslash is given back as it is: emoji, quotes, $(…)', () => {
    const text = `Grandma's "best" $(touch PWNED) 📷🏖️ 中文`;
    assert.equal(unescapeCopyText(text), text);
  });
});

describe('a COPY data line becomes its fields', () => {
  test('fields are split at tabs, \\N is NULL, escaped tabs and newlines stay inside', () => {
    assert.deepEqual(copyFields('1\t\\N\ta\\tb\\nc\t\t\\\\N'), ['1', null, 'a\tb\nc', '', '\\N']);
  });

  test('a value that is exactly the end marker comes back as \\.', () => {
    assert.deepEqual(copyFields('\\\\.\tx'), ['\\.', 'x']);
    assert.deepEqual(copyFields('line\\n\\\\.\\nnext'), ['line\n\\.\nnext']);
  });

  test('a bytea in hex form becomes its bytes; a 20-byte one is a SHA-1', () => {
    const [field] = copyFields('\\\\x00ff10abcdef0123456789abcdef0123456789ab');
    assert.equal(field, '\\x00ff10abcdef0123456789abcdef0123456789ab');
    assert.equal(sha1Hex(field ?? null), '00ff10abcdef0123456789abcdef0123456789ab');
    assert.equal(
      sha1Hex('\\xABCDEF0123456789ABCDEF0123456789ABCDEF01'),
      'abcdef0123456789abcdef0123456789abcdef01',
    );
  });

  test('a checksum that is not 20 bytes, not hex, or NULL is no SHA-1', () => {
    assert.equal(sha1Hex('\\x' + 'ab'.repeat(32)), null, 'a SHA-256');
    assert.equal(sha1Hex('\\x' + 'ab'.repeat(19)), null);
    assert.equal(sha1Hex('\\xabc'), null, 'odd digits');
    assert.equal(sha1Hex('\\x' + 'zz'.repeat(20)), null);
    assert.equal(sha1Hex(null), null);
  });

  test("bytea's older escape form is read too", () => {
    assert.deepEqual(byteaBytes('a\\\\b\\000\\377'), Buffer.from([0x61, 0x5c, 0x62, 0, 255]));
    assert.equal(byteaBytes('bad \\9'), null);
  });
});

describe('a COPY statement names its table and columns', () => {
  test('quoted names, mixed case and a reserved word', () => {
    assert.deepEqual(
      parseCopyStatement(
        'COPY public."user" (id, "profileImagePath", "we""ird, name") FROM stdin;',
      ),
      { schema: 'public', table: 'user', columns: ['id', 'profileImagePath', 'we"ird, name'] },
    );
    assert.deepEqual(parseCopyStatement('COPY assets (id, checksum) FROM stdin;'), {
      schema: null,
      table: 'assets',
      columns: ['id', 'checksum'],
    });
  });

  test('a table without columns: pg_dump writes no column list (two spaces)', () => {
    assert.deepEqual(parseCopyStatement('COPY public.t  FROM stdin;'), {
      schema: 'public',
      table: 't',
      columns: [],
    });
    assert.deepEqual(parseCopyStatement('COPY "a b"  FROM stdin;'), {
      schema: null,
      table: 'a b',
      columns: [],
    });
  });

  test('other lines are not COPY statements', () => {
    assert.equal(parseCopyStatement('COPY public.asset () FROM stdin;'), null);
    assert.equal(parseCopyStatement('COPY public.asset (id) TO stdout;'), null);
    assert.equal(parseCopyStatement('COPY public.asset (id, ) FROM stdin;'), null);
    assert.equal(parseCopyStatement('COPY public.asset (id, "open) FROM stdin;'), null);
  });
});

describe("a cluster dump's \\connect lines name the database", () => {
  test('as pg_dumpall writes them, plain, quoted and as a connection string', () => {
    assert.equal(connectTarget('\\connect immich'), 'immich');
    assert.equal(connectTarget('\\connect "Mixed"'), 'Mixed');
    assert.equal(connectTarget(`\\connect -reuse-previous=on "dbname='my-db'"`), 'my-db');
    assert.equal(connectTarget(`\\connect -reuse-previous=on "dbname='it\\'s'"`), "it's");
    assert.equal(connectTarget('\\c "we""ird"'), 'we"ird');
  });

  test('other lines are none, a bare \\connect stays where it is', () => {
    assert.equal(connectTarget('\\connectx immich'), undefined);
    assert.equal(connectTarget('\\restrict abc'), undefined);
    assert.equal(connectTarget('\\connect'), null);
    assert.equal(connectTarget('\\connect '), null);
    // The old form `\\connect - user`: `-` is the same database, the user is no database.
    assert.equal(connectTarget('\\connect - postgres'), null);
    assert.equal(connectTarget('\\c -reuse-previous=on - postgres'), null);
    assert.equal(connectTarget('\\connect "-" postgres'), '-');
    assert.equal(connectTarget('\\connect immich postgres'), 'immich');
  });
});
