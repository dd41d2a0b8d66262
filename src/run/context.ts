import type { ResolvedDrive } from '../config/load.js';
import { AgentError, type StepName } from '../errors.js';
import type { Trigger } from '../history/record.js';
import type { Logger } from '../log/logger.js';
import type { RunDeps } from '../session/deps.js';
import type { UndoStack } from '../session/undo-stack.js';
import type { ProgressReporter } from './progress-reporter.js';
import type { RunState } from './run-state.js';

/** What was asked of a run (the CLI's options, the daemon's schedule, the hotplug unit's). */
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

/** What each step gets: the deps plus this run's request, state, undo stack and logger. */
export interface StepContext extends RunDeps {
  runId: string;
  /** What was asked, in one place (a dry run is `request.dryRun`, nowhere else). */
  request: RunRequest;
  state: RunState;
  undo: UndoStack;
  log: Logger;
  /** Where the run is: the live line, the progress file for `status`, a log event every 30 s. */
  reporter: ProgressReporter;
  /**
   * The drive this run is for: the only one configured from the start, else the one chooseDrive
   * picked; null until then (the record then names no drive).
   */
  driveConfig: ResolvedDrive | null;
}

/** The drive the run is for, once chosen (every step after chooseDrive may rely on it). */
export function chosenDrive(context: StepContext): ResolvedDrive {
  if (context.driveConfig === null)
    throw new AgentError('INTERNAL', 'No backup drive was chosen before this step.');
  return context.driveConfig;
}

/**
 * Between steps: stops here if the run was interrupted, and tells `status` which step runs now
 * (not in a dry run, which writes nothing).
 */
export async function enterStep(context: StepContext, step: StepName): Promise<void> {
  if (context.signal.aborted) {
    throw new AgentError('INTERRUPTED', 'The run was interrupted before it finished.', {
      step,
      hint: 'Run it again; the next run continues where this one stopped.',
    });
  }
  await context.reporter.step(step);
}
