import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isAgentError } from '../../../src/errors.js';
import { daemonUnitName, renderUnit, unitWord } from '../../../src/install/templates.js';

describe('unitWord: a value written into a systemd unit reads back as itself', () => {
  const cases: { word: string; where: 'executable' | 'argument' | 'path'; expected: string }[] = [
    { word: '/usr/bin/node', where: 'executable', expected: '/usr/bin/node' },
    { word: '/opt/iba 100%h/node', where: 'executable', expected: '"/opt/iba 100%%h/node"' },
    { word: '/opt/$HOME/node', where: 'executable', expected: '"/opt/$HOME/node"' },
    { word: '/opt/$HOME/main.js', where: 'argument', expected: '"/opt/$$HOME/main.js"' },
    { word: '/opt/$HOME/x', where: 'path', expected: '"/opt/$HOME/x"' },
    { word: '-/var/log/a%i', where: 'path', expected: '-/var/log/a%%i' },
    { word: `/srv/'q' "dq"\\b`, where: 'path', expected: `"/srv/'q' \\"dq\\"\\\\b"` },
  ];
  for (const { word, where, expected } of cases) {
    test(`${word} in a ${where} is written ${expected}`, () => {
      assert.equal(unitWord(word, where), expected);
    });
  }

  test('a path with a newline is refused: it would start a directive of its own', () => {
    assert.throws(
      () => unitWord('/var/log/x\nExecStartPre=/bin/evil', 'path'),
      (error) => isAgentError(error, 'CONFIG_INVALID'),
    );
  });
});

describe('renderUnit', () => {
  test('the command line of a unit escapes `$` (arguments) and `%` (everywhere) as systemd reads them', async () => {
    const text = await renderUnit(daemonUnitName, {
      nodePath: '/opt/iba node 50%n $PATH/node',
      agentPath: '/opt/agent $x/main.js',
      extraWritable: [`/var/log/iba 100%h $HOME 'q'`],
    });
    assert.match(
      text,
      /^ExecStart="\/opt\/iba node 50%%n \$PATH\/node" "\/opt\/agent \$\$x\/main\.js" daemon$/m,
    );
    assert.match(
      text,
      /^ExecStopPost="\/opt\/iba node 50%%n \$PATH\/node" "\/opt\/agent \$\$x\/main\.js" recover$/m,
    );
    assert.match(text, /^ReadWritePaths="-\/var\/log\/iba 100%%h \$HOME 'q'"$/m);
  });
});
