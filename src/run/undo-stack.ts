import { toAgentError, type AgentError } from '../errors.js';
import type { Logger } from '../log/logger.js';

export interface UndoFailure {
  label: string;
  error: AgentError;
}

/**
 * What a run has changed in the world, and how to put it back. Each step that changes something
 * (mount, stop the server) pushes its undo as soon as the change is made; `unwind` runs them
 * last-in-first-out on every path (success, failure, SIGTERM). An undo that fails is logged and
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
        const error = toAgentError(caught, 'INTERNAL', 'cleanup');
        failures.push({ label: entry.label, error });
        this.logger.error(
          { step: error.step ?? 'cleanup', code: error.code, err: caught },
          `Could not ${entry.label}: ${error.message}`,
        );
      }
    }
    return failures;
  }
}
