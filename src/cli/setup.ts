import { connectBus, systemBusAddress, type BusClient } from '../adapters/dbus.js';
import { createDockerAdapter } from '../adapters/docker.js';
import { createDriveAdapter, runningUnderSystemd } from '../adapters/drive.js';
import { createProcessGateway } from '../adapters/process.js';
import { loadConfig, resolveConfigFile, type AgentConfig } from '../config/load.js';
import { createHistoryStore } from '../history/store.js';
import { stateFolder } from '../layout/state-folder.js';
import { createLogger, type Logger } from '../log/logger.js';
import { escapeControlCharacters } from '../log/text.js';
import { packageVersion } from '../package-files.js';
import { createNotifier } from '../notify/notifier.js';
import type { LiveLine, RunDeps } from '../session/deps.js';
import {
  withDriveSession,
  type DriveSession,
  type DriveSessionOptions,
} from '../session/drive-session.js';

export const agentVersion: string = packageVersion;

/** A command's world: its configuration, its logger and everything it talks to. */
export interface OpenCommand {
  config: AgentConfig;
  logger: Logger;
  deps: RunDeps;
  /** Stops listening for signals; call it when the command is done. */
  close(): void;
}

/**
 * The composition root: the one place that loads the configuration and builds the logger and
 * the adapters from it, for every command alike. Nothing below it reaches for globals.
 * `writeFile: false` writes no log file (a dry run, a read-only command); with `signals`,
 * SIGTERM/SIGINT/SIGHUP abort the command's signal instead of killing the process.
 */
export async function openCommand(
  configFlag: string | undefined,
  options: {
    writeFile: boolean;
    console?: NodeJS.WritableStream;
    liveLine?: LiveLine | null;
    signals?: boolean;
    /** A read-only command's (status, last-run): only errors, whatever log.level says. */
    quiet?: boolean;
  },
): Promise<OpenCommand> {
  const config = await loadConfig(resolveConfigFile(configFlag));
  const consoleStream = options.console ?? process.stdout;
  const { logger, runScope, fileError } = createLogger({
    file: options.writeFile ? config.log.file : null,
    level: options.quiet ? 'error' : config.log.level,
    pretty: (consoleStream as NodeJS.WriteStream).isTTY === true,
    secrets: config.secrets.all,
    console: consoleStream,
  });
  // Said once, on stderr (the journal under systemd), where it reaches a person whatever the
  // log level; the events themselves still go to the console.
  if (fileError) {
    process.stderr.write(
      `immich-backup-agent: ${escapeControlCharacters(fileError.message)}; logging to the journal/console only.\n`,
    );
  }
  const controller = new AbortController();
  const stopListening =
    options.signals === false ? () => undefined : abortOnSignals(controller, logger);
  const gateway = createProcessGateway({ logger, secrets: config.secrets.all });
  const openSystemBus = (): BusClient =>
    connectBus(systemBusAddress(), config.power.dbusTimeoutSeconds * 1000);
  const deps: RunDeps = {
    notifier: createNotifier({ config, logger, gateway, openSystemBus }),
    openSystemBus,
    liveLine: options.liveLine ?? null,
    config,
    logger,
    runScope,
    gateway,
    docker: createDockerAdapter(),
    drive: createDriveAdapter(gateway, { useSystemdMount: runningUnderSystemd() }),
    history: createHistoryStore(
      stateFolder(config.stateDir).historyDir,
      stateFolder(config.stateDir).sequenceDir,
    ),
    clock: () => new Date(),
    agentVersion,
    signal: controller.signal,
  };
  return { config, logger, deps, close: stopListening };
}

/** `verify`, `restore`, `backups`, `prune-versions`: a command's world around a drive session. */
export async function withBackupDrive<T>(
  configFlag: string | undefined,
  options: DriveSessionOptions & { console?: NodeJS.WritableStream },
  work: (session: DriveSession) => Promise<T>,
): Promise<T> {
  const command = await openCommand(configFlag, { writeFile: true, console: options.console });
  try {
    return await withDriveSession(command.deps, options, work);
  } finally {
    command.close();
  }
}

/**
 * SIGTERM (systemd stopping the unit, an unplug with BindsTo=), SIGINT (Ctrl-C) and SIGHUP abort
 * the run instead of killing the process, so its undos still start the server again. Further
 * signals are logged and ignored while that happens.
 */
function abortOnSignals(controller: AbortController, logger: Logger): () => void {
  const handler = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      logger.warn(
        { step: 'signal' },
        `Received ${signal} again; still putting things back (server, drive) before exiting.`,
      );
      return;
    }
    logger.warn(
      { step: 'signal' },
      `Received ${signal}: stopping the backup and bringing the Immich server back.`,
    );
    controller.abort(signal);
  };
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
