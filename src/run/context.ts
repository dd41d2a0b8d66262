import type { BusClient } from '../adapters/dbus.js';
import type { DockerAdapter } from '../adapters/docker.js';
import type { DriveAdapter } from '../adapters/drive.js';
import type { ProcessGateway } from '../adapters/process.js';
import type { AgentConfig } from '../config/load.js';
import { AgentError } from '../errors.js';
import type { HistoryStore } from '../history/store.js';
import type { Trigger } from '../history/record.js';
import type { Logger } from '../log/logger.js';
import type { Notifier } from '../notify/notifier.js';
import type { ProgressFile } from './progress.js';
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
  /** Aborted on SIGTERM/SIGINT: the run stops at once and its undos put things back. */
  signal: AbortSignal;
}

export interface RunRequest {
  trigger: Trigger;
  force: boolean;
  dryRun: boolean;
  /** The daemon's run for a window missed while the machine was off (never powers off). */
  catchUp?: boolean;
}

/** What each step gets: the deps plus this run's state, undo stack and logger. */
export interface StepContext extends RunDeps {
  runId: string;
  dryRun: boolean;
  state: RunState;
  undo: UndoStack;
  log: Logger;
  progress: ProgressFile;
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
  if (context.dryRun) return;
  await context.progress
    .write({
      runId: context.runId,
      trigger: context.state.trigger,
      pid: process.pid,
      startedAt: context.state.startedAt.toISOString(),
      step,
      stepStartedAt: context.clock().toISOString(),
    })
    .catch((error: unknown) =>
      context.log.debug({ step, err: error }, 'Could not write the progress file.'),
    );
}
