import type { DockerAdapter } from '../adapters/docker.js';
import type { DriveAdapter } from '../adapters/drive.js';
import type { ProcessGateway } from '../adapters/process.js';
import type { AgentConfig } from '../config/load.js';
import { AgentError } from '../errors.js';
import type { HistoryStore } from '../history/store.js';
import type { Trigger } from '../history/record.js';
import type { Logger } from '../log/logger.js';
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
  /** Aborted on SIGTERM/SIGINT: the run stops at once and its undos put things back. */
  signal: AbortSignal;
}

export interface RunRequest {
  trigger: Trigger;
  force: boolean;
  dryRun: boolean;
}

/** What each step gets: the deps plus this run's state, undo stack and logger. */
export interface StepContext extends RunDeps {
  runId: string;
  dryRun: boolean;
  state: RunState;
  undo: UndoStack;
  log: Logger;
}

/** Stops between steps when the run was interrupted. */
export function checkpoint(context: Pick<StepContext, 'signal'>, step: string): void {
  if (context.signal.aborted) {
    throw new AgentError('INTERRUPTED', 'The run was interrupted before it finished.', {
      step,
      hint: 'Run it again; the next run continues where this one stopped.',
    });
  }
}
