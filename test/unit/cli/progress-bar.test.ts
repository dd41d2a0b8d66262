import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { createProgressBar } from '../../../src/cli/progress-bar.js';

function terminal(): { stream: NodeJS.WriteStream; written: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  return {
    stream: Object.assign(stream, { columns: 100, isTTY: true }) as unknown as NodeJS.WriteStream,
    written: () => text,
  };
}

describe('the progress bar of verify --full', () => {
  test('shows the share, the counts and the bytes, and a log line does not tear it', async () => {
    const { stream, written } = terminal();
    const bar = createProgressBar(stream);
    bar.update({ done: 500, total: 2000, bytes: 123_000_000 });
    assert.match(written(), /\[######\.+\] 25% 500\/2,000 originals, 123 MB/);
    await new Promise<void>((resolve) => bar.console.write('a log line\n', () => resolve()));
    // Cleared, the line written, the bar drawn again below it.
    assert.ok(written().includes('\r\u001b[Ka log line\n[######'), JSON.stringify(written()));
    bar.clear();
    assert.ok(written().endsWith('\r\u001b[K'));
  });
});
