import { Writable } from 'node:stream';
import { formatBytes, formatCount } from '../format.js';

/**
 * A progress bar on stderr for a long read on a terminal (`verify --full`), and the console
 * stream for the logger that keeps the two apart: the bar is cleared, the log line written and
 * the bar drawn again below it. Drawn at most ten times a second.
 */
export function createProgressBar(stream: NodeJS.WriteStream = process.stderr): {
  console: NodeJS.WritableStream;
  update(progress: { done: number; total: number; bytes: number }): void;
  clear(): void;
} {
  let line = '';
  let drawnAt = 0;
  const started = Date.now();
  const erase = (): void => {
    if (line !== '') stream.write('\r\x1b[K');
  };
  const draw = (): void => {
    if (line !== '') stream.write(line.slice(0, Math.max(10, (stream.columns || 80) - 1)));
  };
  return {
    console: Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          erase();
          stream.write(chunk, () => {
            draw();
            callback();
          });
        },
      }),
      { isTTY: true },
    ),
    update({ done, total, bytes }) {
      const now = Date.now();
      if (now - drawnAt < 100 && done < total) return;
      drawnAt = now;
      const share = total === 0 ? 1 : done / total;
      const width = 24;
      const filled = Math.round(share * width);
      const seconds = (now - started) / 1000;
      const speed = seconds > 0 ? `${formatBytes(Math.round(bytes / seconds))}/s` : '';
      erase();
      line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor(share * 100)}% ${formatCount(done)}/${formatCount(total)} originals, ${formatBytes(bytes)} ${speed}`;
      draw();
    },
    clear() {
      erase();
      line = '';
    },
  };
}
