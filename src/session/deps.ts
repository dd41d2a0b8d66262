import type { BusClient } from '../adapters/dbus.js';
import type { DockerAdapter } from '../adapters/docker.js';
import type { DriveAdapter } from '../adapters/drive.js';
import type { ProcessGateway } from '../adapters/process.js';
import type { AgentConfig } from '../config/load.js';
import type { HistoryStore } from '../history/store.js';
import type { Logger, RunScope } from '../log/logger.js';
import type { Notifier } from '../notify/notifier.js';

/** A live progress line on a terminal (ora's, in cli/). */
export interface LiveLine {
  show(text: string): void;
  clear(): void;
}

/**
 * Everything a command talks to, made by the caller (the CLI's composition root, the daemon,
 * tests) and passed in: a run, verify, restore and recovery all take these.
 */
export interface RunDeps {
  config: AgentConfig;
  logger: Logger;
  /** Tags every event of the logger with the runId while a run (or a session) is on. */
  runScope: RunScope;
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
