import type { RunRecord } from '../history/record.js';
import type { Logger } from '../log/logger.js';

/** What the daemon tells whoever listens (the log now; notifications later). */
export interface DaemonEvents {
  'run-started': { reason: string; at: Date };
  'run-finished': { reason: string; record: RunRecord };
}

type Listener<T> = (payload: T) => void | Promise<void>;

/**
 * A typed event bus whose listeners cannot hurt the daemon: a listener that throws, or whose
 * promise rejects, is logged and the others still run.
 */
export class EventBus {
  private readonly listeners = new Map<keyof DaemonEvents, Listener<never>[]>();

  constructor(private readonly logger: Logger) {}

  on<K extends keyof DaemonEvents>(event: K, listener: Listener<DaemonEvents[K]>): void {
    const list = this.listeners.get(event) ?? [];
    list.push(listener);
    this.listeners.set(event, list);
  }

  /** Calls every listener; resolves when all have finished, never rejects. */
  async emit<K extends keyof DaemonEvents>(event: K, payload: DaemonEvents[K]): Promise<void> {
    const list = (this.listeners.get(event) ?? []) as Listener<DaemonEvents[K]>[];
    await Promise.all(
      list.map(async (listener) => {
        try {
          await listener(payload);
        } catch (error) {
          this.logger.error(
            { step: 'daemon', event, err: error },
            `A listener of "${event}" failed: ${(error as Error).message}. The daemon carries on.`,
          );
        }
      }),
    );
  }
}
