import { Writable } from 'node:stream';
import ora, { type Ora } from 'ora';
import type { LiveLine } from '../session/deps.js';

/**
 * The live progress line of a run on a terminal (ora, on stderr), and the console stream for the
 * logger that keeps the two apart: each log line clears the spinner, is written, and the spinner
 * is drawn again below it.
 */
export function createTerminalLiveLine(): { liveLine: LiveLine; console: NodeJS.WritableStream } {
  const spinner: Ora = ora({ stream: process.stderr, discardStdin: false, hideCursor: false });
  const console = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const spinning = spinner.isSpinning;
      if (spinning) spinner.clear();
      process.stdout.write(chunk, () => {
        if (spinning) spinner.render();
        callback();
      });
    },
  });
  return {
    console: Object.assign(console, { isTTY: true }),
    liveLine: {
      show(text) {
        spinner.text = text;
        if (!spinner.isSpinning) spinner.start();
      },
      clear() {
        if (spinner.isSpinning) spinner.stop();
      },
    },
  };
}
