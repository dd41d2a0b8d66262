import type { BusClient } from '../adapters/dbus.js';
import type { DockerAdapter } from '../adapters/docker.js';
import type { DriveAdapter } from '../adapters/drive.js';
import type { ProcessGateway } from '../adapters/process.js';
import type { AgentConfig, ResolvedDrive } from '../config/load.js';
import { AgentError } from '../errors.js';
import type { HistoryStore } from '../history/store.js';
import type { Trigger } from '../history/record.js';
import type { Logger } from '../log/logger.js';
import type { Notifier } from '../notify/notifier.js';
import type { LiveLine, ProgressReporter } from './progress-reporter.js';
import type { RunState } from './run-state.js';
import type { UndoStack } from './undo-stack.js';

/** Everything a run talks to, made by the caller (CLI, daemon, tests) and passed in. */
export interface RunDeps {
  config: AgentConfig;
  logger: Logger;
  docker: DockerAdapter;
  drive: DriveAdapter;
  gateway: ProcessGateway;
  history: HistoryStore;
  clock: () => Date;
  agentVersion: string;
  /** Tells people what happened (desktop notifications, HTTP pings); never throws. */
  notifier: Notifier;
  /** A new connection to the system bus (logind, UDisks2); the caller closes it. */
  openSystemBus: () => BusClient;
  /** A live progress line on a terminal, or null (no TTY, systemd). */
  liveLine: LiveLine | null;
  /** Aborted on SIGTERM/SIGINT: the run stops at once and its undos put things back. */
  signal: AbortSignal;
}

export interface RunRequest {
  trigger: Trigger;
  force: boolean;
  dryRun: boolean;
  /** The daemon's run for a window missed while the machine was off (never powers off). */
  catchUp?: boolean;
  /** Back up to this configured drive (its UUID). */
  drive?: string;
  /** The block device that was plugged in (the hotplug unit passes its sysfs path). */
  device?: string;
  /** Let the run through the mass-change guard (run --accept-changes). */
  acceptChanges?: boolean;
}

/** What each step gets: the deps plus this run's state, undo stack and logger. */
export interface StepContext extends RunDeps {
  runId: string;
  dryRun: boolean;
  state: RunState;
  undo: UndoStack;
  log: Logger;
  /** Where the run is: the live line, the progress file for `status`, a log event every 30 s. */
  reporter: ProgressReporter;
  /** The drive this run backs up to (chosen by selectDrive when several are configured). */
  driveConfig: ResolvedDrive;
}

/**
 * Between steps: stops here if the run was interrupted, and tells `status` which step runs now
 * (not in a dry run, which writes nothing).
 */
export async function enterStep(context: StepContext, step: string): Promise<void> {
  if (context.signal.aborted) {
    throw new AgentError('INTERRUPTED', 'The run was interrupted before it finished.', {
      step,
      hint: 'Run it again; the next run continues where this one stopped.',
    });
  }
  await context.reporter.step(step);
}
