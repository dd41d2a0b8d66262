import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { interpolate, parseDotenv } from '../../../src/config/dotenv.js';

describe('parseDotenv reads an Immich .env the way Docker Compose does', () => {
  const cases: { name: string; text: string; expected: Record<string, string> }[] = [
    {
      name: 'plain KEY=value lines are read as they are',
      text: 'UPLOAD_LOCATION=./library\nDB_USERNAME=postgres\n',
      expected: { UPLOAD_LOCATION: './library', DB_USERNAME: 'postgres' },
    },
    {
      name: 'blank lines and whole-line comments are skipped, also when indented',
      text: '\n# a comment\n   # an indented comment\n\nKEY=value\n',
      expected: { KEY: 'value' },
    },
    {
      name: 'an export prefix is dropped',
      text: 'export DB_PASSWORD=secret\nexport   TZ=Europe/Berlin\n',
      expected: { DB_PASSWORD: 'secret', TZ: 'Europe/Berlin' },
    },
    {
      name: 'spaces around the key, the equals sign and the value are trimmed',
      text: '  KEY  =   spaced value   \n',
      expected: { KEY: 'spaced value' },
    },
    {
      name: 'an inline comment after an unquoted value is dropped',
      text: 'UPLOAD_LOCATION=/srv/photos # where the photos live\nTAB=value\t# tab before it\n',
      expected: { UPLOAD_LOCATION: '/srv/photos', TAB: 'value' },
    },
    {
      name: 'a hash inside an unquoted value with no space before it is part of the value',
      text: 'DB_PASSWORD=abc#def\n',
      expected: { DB_PASSWORD: 'abc#def' },
    },
    {
      name: 'an empty value is an empty string',
      text: 'PUBLIC_LOGIN_PAGE_MESSAGE=\n',
      expected: { PUBLIC_LOGIN_PAGE_MESSAGE: '' },
    },
    {
      name: 'single quotes are taken literally: no escapes, no interpolation, hash kept',
      text: "A=one\nB='${A} \\n $A # not a comment' # a comment\n",
      expected: { A: 'one', B: '${A} \\n $A # not a comment' },
    },
    {
      name: 'a single-quoted value may span lines',
      text: "KEY='first\nsecond'\nNEXT=after\n",
      expected: { KEY: 'first\nsecond', NEXT: 'after' },
    },
    {
      name: 'double quotes keep spaces and hashes and turn \\n, \\t, \\" and \\\\ into characters',
      text: 'KEY="  a # b \\n c\\td \\"e\\" f\\\\g  " # comment\n',
      expected: { KEY: '  a # b \n c\td "e" f\\g  ' },
    },
    {
      name: 'a double-quoted value may span lines',
      text: 'KEY="first\nsecond"\nNEXT=after\n',
      expected: { KEY: 'first\nsecond', NEXT: 'after' },
    },
    {
      name: 'double-quoted and unquoted values interpolate keys defined earlier',
      text: 'BASE=/srv\nA=$BASE/a\nB="${BASE}/b"\nC=${MISSING:-/fallback}/c\n',
      expected: { BASE: '/srv', A: '/srv/a', B: '/srv/b', C: '/fallback/c' },
    },
    {
      name: 'a key used before it is defined interpolates to an empty string',
      text: 'A=${LATER}x\nLATER=y\n',
      expected: { A: 'x', LATER: 'y' },
    },
    {
      name: '$$ is a literal dollar sign',
      text: 'DB_PASSWORD=pa$$word\nQUOTED="cost $$5"\n',
      expected: { DB_PASSWORD: 'pa$word', QUOTED: 'cost $5' },
    },
    {
      name: 'Windows line endings are read like Unix ones',
      text: 'A=1\r\nB="two"\r\n# comment\r\nC=3\r\n',
      expected: { A: '1', B: 'two', C: '3' },
    },
    {
      name: 'a later line for the same key wins',
      text: 'KEY=first\nKEY=second\n',
      expected: { KEY: 'second' },
    },
    {
      name: 'lines that are not assignments are ignored',
      text: 'just some words\n=novalue\n1ABC=digit first\nKEY=value\n',
      expected: { KEY: 'value' },
    },
    {
      name: 'keys may contain dots and dashes',
      text: 'my.key-name=value\n',
      expected: { 'my.key-name': 'value' },
    },
    {
      name: 'the last line is read even without a trailing newline',
      text: 'A=1\nB=2',
      expected: { A: '1', B: '2' },
    },
  ];
  for (const { name, text, expected } of cases) {
    test(name, () => {
      assert.deepEqual(Object.fromEntries(parseDotenv(text)), expected);
    });
  }

  test('an empty file gives no keys', () => {
    assert.equal(parseDotenv('').size, 0);
  });
});

describe('interpolate substitutes variables the way Compose does', () => {
  const values = new Map([
    ['SET', 'value'],
    ['EMPTY', ''],
  ]);
  const cases: { name: string; text: string; expected: string }[] = [
    { name: '$VAR is replaced by its value', text: 'a/$SET/b', expected: 'a/value/b' },
    { name: '${VAR} is replaced by its value', text: 'a${SET}b', expected: 'avalueb' },
    { name: 'an unknown variable becomes an empty string', text: '[$NOPE]', expected: '[]' },
    {
      name: '${VAR:-default} uses the default when the variable is unset',
      text: '${NOPE:-fallback}',
      expected: 'fallback',
    },
    {
      name: '${VAR:-default} uses the default when the variable is empty',
      text: '${EMPTY:-fallback}',
      expected: 'fallback',
    },
    {
      name: '${VAR:-default} uses the value when the variable is set',
      text: '${SET:-fallback}',
      expected: 'value',
    },
    {
      name: '${VAR-default} uses the default only when the variable is unset',
      text: '${NOPE-fallback}|${EMPTY-fallback}|${SET-fallback}',
      expected: 'fallback||value',
    },
    {
      name: 'a default may be empty',
      text: '[${NOPE:-}]',
      expected: '[]',
    },
    {
      name: 'a default may contain slashes, dots and colons',
      text: 'ghcr.io/immich-app/immich-server:${IMMICH_VERSION:-release}',
      expected: 'ghcr.io/immich-app/immich-server:release',
    },
    { name: '$$ is a literal dollar and is not interpolated', text: '$$SET', expected: '$SET' },
    { name: '$$$VAR is a dollar followed by the value', text: '$$$SET', expected: '$value' },
    { name: 'a lone dollar sign is kept', text: 'cost: 5$', expected: 'cost: 5$' },
    { name: 'text without variables is unchanged', text: 'plain text', expected: 'plain text' },
  ];
  for (const { name, text, expected } of cases) {
    test(name, () => {
      assert.equal(interpolate(text, values), expected);
    });
  }
});
