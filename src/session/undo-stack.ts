import { toAgentError, type AgentError } from '../errors.js';
import type { Logger } from '../log/logger.js';

export interface UndoFailure {
  label: string;
  error: AgentError;
}

/**
 * What a run has changed in the world, and how to put it back. Each step that changes something
 * (mount, stop the server) pushes its undo as soon as the change is made. On the good path a
 * run calls them itself, in its own order (runNow); `unwind` runs whatever is left
 * last-in-first-out on every other path (a failure, SIGTERM). An undo that fails is logged and
 * collected, never thrown, so the undos after it still run and the first error is not replaced.
 */
export class UndoStack {
  private readonly entries: { label: string; undo: () => Promise<void> }[] = [];

  constructor(private readonly logger: Logger) {}

  /**
   * Registers an undo. The returned function runs it now, out of turn, and takes it off the stack
   * (the server is started again as soon as the dump is safe, with stopServer: during-dump); its
   * failure is thrown to the caller then, as the step's own error.
   */
  push(label: string, undo: () => Promise<void>): () => Promise<void> {
    const entry = { label, undo };
    this.entries.push(entry);
    return async () => {
      const index = this.entries.indexOf(entry);
      if (index < 0) return;
      this.entries.splice(index, 1);
      await entry.undo();
    };
  }

  /**
   * Runs a registered undo now, on the good path, where a run writes its tail out line by line
   * (restart, record, unmount): a failure is logged and returned like unwind's, not thrown, so
   * the lines after it still run. A null undo (nothing was done that needs it) is nothing to do.
   */
  async runNow(label: string, undo: (() => Promise<void>) | null): Promise<UndoFailure | null> {
    if (undo === null) return null;
    try {
      await undo();
      return null;
    } catch (caught) {
      return this.failed(label, caught);
    }
  }

  get size(): number {
    return this.entries.length;
  }

  async unwind(): Promise<UndoFailure[]> {
    const failures: UndoFailure[] = [];
    while (this.entries.length > 0) {
      const entry = this.entries.pop();
      if (!entry) break;
      try {
        await entry.undo();
      } catch (caught) {
        failures.push(this.failed(entry.label, caught));
      }
    }
    return failures;
  }

  private failed(label: string, caught: unknown): UndoFailure {
    const error = toAgentError(caught, 'INTERNAL', 'cleanup');
    this.logger.error(
      { step: error.step ?? 'cleanup', code: error.code, err: caught },
      `Could not ${label}: ${error.message}`,
    );
    return { label, error };
  }
}
