import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { formatEvent } from '../../../src/cli/log-command.js';
import { formatRunSummary } from '../../../src/cli/summary.js';
import type { RunRecord } from '../../../src/history/record.js';
import { createLogger } from '../../../src/log/logger.js';
import { escapeControlCharacters } from '../../../src/log/text.js';

/** A library path made to forge a line of the agent's own, and to steer a terminal. */
const hostile = 'upload/x\n12:00:00  INFO  [finish] Backup finished.\r\x1b[2J$(touch PWNED).jpg';

describe('escapeControlCharacters', () => {
  const cases: { text: string; expected: string }[] = [
    { text: 'plain/Data Main1 ü 📷.jpg', expected: 'plain/Data Main1 ü 📷.jpg' },
    { text: 'a\nb', expected: 'a\\nb' },
    { text: 'a\r\tb', expected: 'a\\r\\tb' },
    { text: '\x1b[31mred', expected: '\\x1b[31mred' },
    { text: '\x00\x7f\x9b', expected: '\\x00\\x7f\\x9b' },
    { text: 'line\u2028separator', expected: 'line\\u2028separator' },
    { text: '$(touch PWNED)', expected: '$(touch PWNED)' },
  ];
  for (const { text, expected } of cases) {
    test(`${JSON.stringify(text)} is shown as ${JSON.stringify(expected)}`, () => {
      assert.equal(escapeControlCharacters(text), expected);
    });
  }
});

describe('a hostile file name in a log event cannot forge a line', () => {
  test('the `log` command shows the event on one line, escapes escaped', () => {
    const line = JSON.stringify({
      time: '2026-11-30T01:00:00.000Z',
      level: 'warn',
      step: 'sync',
      msg: `Skipped ${hostile}`,
    });
    const shown = formatEvent(line);
    assert.equal(shown.split('\n').length, 1, shown);
    assert.ok(!shown.includes('\x1b') && !shown.includes('\r'), shown);
    assert.match(shown, /Skipped upload\/x\\n12:00:00 {2}INFO {2}\[finish\]/);
    assert.match(shown, /\$\(touch PWNED\)\.jpg$/);
  });

  test('a line of the log that is not JSON is shown escaped too', () => {
    assert.equal(formatEvent('garbage\x1b[2J'), 'garbage\\x1b[2J');
  });

  test('the pretty console (a terminal) shows the event on one line', async () => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        chunks.push(chunk.toString());
        callback();
      },
    });
    const { logger } = createLogger({
      file: null,
      level: 'info',
      pretty: true,
      secrets: [],
      console: stream,
    });
    logger.warn({ step: 'sync' }, `Skipped ${hostile}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const text = chunks.join('');
    assert.equal(text.trimEnd().split('\n').length, 1, text);
    assert.ok(!text.includes('\r') && !text.includes('\x1b[2J'), JSON.stringify(text));
    assert.match(text, /\[sync\] Skipped upload\/x\\n12:00:00/);
  });
});

test('the run summary on a terminal shows a hostile name in the message and warnings on their own line', () => {
  const record = {
    outcome: 'warning',
    reason: null,
    trigger: 'manual',
    dryRun: false,
    startedAt: '2026-11-30T01:00:00.000Z',
    finishedAt: '2026-11-30T01:01:00.000Z',
    durationMs: 60_000,
    message: `Backup finished; skipped ${hostile}`,
    database: null,
    files: null,
    server: null,
    drive: null,
    warnings: [`Could not copy ${hostile}`],
    hint: null,
    nextDueAt: null,
  } as unknown as RunRecord;
  const lines = formatRunSummary(record).split('\n');
  assert.equal(lines.length, 4, lines.join('\n'));
  assert.match(lines[2] ?? '', /^ {2}What: .*upload\/x\\n12:00:00/);
  assert.match(lines[3] ?? '', /^ {2}Warning: .*\\x1b\[2J\$\(touch PWNED\)\.jpg$/);
});
