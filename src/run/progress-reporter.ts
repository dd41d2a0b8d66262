import type { Logger } from '../log/logger.js';
import type { StepName } from '../errors.js';
import { formatBytes, formatDuration } from '../format.js';
import type { LiveLine } from '../session/deps.js';
import type { Note, RunProgress } from '../session/state-notes.js';

/** How far a long step is: bytes (dump), or percent, rate and ETA (rsync's --info=progress2). */
export interface ProgressUpdate {
  bytes?: number;
  percent?: number;
  bytesPerSecond?: number;
  etaSeconds?: number;
}

/** A live line on a terminal (ora), for whoever watches a manual run. */

const fileEveryMs = 2000;
const logEveryMs = 30_000;

/**
 * Where a running backup is, for the three people who may ask: the terminal (a live line, many
 * times a second), `status` (the progress file, every 2 s) and the log (an event every 30 s, so a
 * multi-hour copy under systemd still says it is alive).
 */
export class ProgressReporter {
  private current: Omit<RunProgress, 'step' | 'stepStartedAt'> & {
    step: string;
    stepStartedAt: string;
    detail?: string;
  };
  private lastFileWrite = 0;
  private lastLog = 0;
  private lastBytes: { at: number; bytes: number } | null = null;

  constructor(
    private readonly options: {
      file: Note<RunProgress> | null;
      log: Logger;
      live: LiveLine | null;
      base: Omit<RunProgress, 'step' | 'stepStartedAt'>;
      clock: () => Date;
    },
  ) {
    this.current = {
      ...options.base,
      step: 'starting',
      stepStartedAt: options.clock().toISOString(),
    };
  }

  async step(step: StepName): Promise<void> {
    const now = this.options.clock();
    this.current = { ...this.options.base, step, stepStartedAt: now.toISOString() };
    this.lastBytes = null;
    this.lastLog = now.getTime();
    this.options.live?.clear();
    await this.writeFile(true);
  }

  update(update: ProgressUpdate): void {
    const now = this.options.clock().getTime();
    let rate = update.bytesPerSecond;
    if (rate === undefined && update.bytes !== undefined) {
      if (this.lastBytes && now - this.lastBytes.at >= 1000) {
        rate = ((update.bytes - this.lastBytes.bytes) * 1000) / (now - this.lastBytes.at);
        this.lastBytes = { at: now, bytes: update.bytes };
      } else if (!this.lastBytes) {
        this.lastBytes = { at: now, bytes: update.bytes };
      }
    }
    const parts = [
      update.percent !== undefined ? `${update.percent}%` : '',
      update.bytes !== undefined ? formatBytes(update.bytes) : '',
      rate !== undefined ? `${formatBytes(Math.round(rate))}/s` : '',
      update.etaSeconds !== undefined ? `${formatDuration(update.etaSeconds * 1000)} left` : '',
    ].filter(Boolean);
    const detail = parts.join(', ');
    this.current = { ...this.current, detail };
    this.options.live?.show(`${this.current.step}: ${detail}`);
    void this.writeFile(false);
    if (now - this.lastLog >= logEveryMs) {
      this.lastLog = now;
      this.options.log.info(
        { step: this.current.step, progress: { ...update, bytesPerSecond: rate } },
        `Still working on ${this.current.step}: ${detail}.`,
      );
    }
  }

  async finish(): Promise<void> {
    this.options.live?.clear();
    await this.options.file?.clear().catch(() => undefined);
  }

  private async writeFile(force: boolean): Promise<void> {
    const now = Date.now();
    if (!this.options.file || (!force && now - this.lastFileWrite < fileEveryMs)) return;
    this.lastFileWrite = now;
    await this.options.file.write(this.current).catch(() => undefined);
  }
}
