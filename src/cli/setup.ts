import { readFileSync } from 'node:fs';
import { connectBus, systemBusAddress, type BusClient } from '../adapters/dbus.js';
import { createDockerAdapter } from '../adapters/docker.js';
import { createDriveAdapter, runningUnderSystemd } from '../adapters/drive.js';
import { createProcessGateway } from '../adapters/process.js';
import type { AgentConfig } from '../config/load.js';
import { createHistoryStore } from '../history/store.js';
import { createLogger, type Logger } from '../log/logger.js';
import { createNotifier } from '../notify/notifier.js';
import type { RunDeps } from '../run/context.js';
import type { LiveLine } from '../run/progress-reporter.js';

export const agentVersion: string = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/**
 * The composition root: the one place that builds the logger and the adapters from the
 * configuration and hands them to the run. Nothing below it reaches for globals.
 */
export function createLoggerFor(
  config: AgentConfig,
  options: { writeFile: boolean; console?: NodeJS.WritableStream },
): Logger {
  const consoleStream = options.console ?? process.stdout;
  const { logger, fileError } = createLogger({
    file: options.writeFile ? config.log.file : null,
    level: config.log.level,
    pretty: (consoleStream as NodeJS.WriteStream).isTTY === true,
    secrets: config.secrets.all,
    console: consoleStream,
  });
  if (fileError) {
    logger.warn(
      { step: 'start', err: fileError },
      `Cannot write the log file ${config.log.file} (${fileError.message}); logging to the console only.`,
    );
  }
  return logger;
}

export function createRunDeps(
  config: AgentConfig,
  logger: Logger,
  signal: AbortSignal,
  liveLine: LiveLine | null = null,
): RunDeps {
  const gateway = createProcessGateway({ logger, secrets: config.secrets.all });
  const openSystemBus = (): BusClient =>
    connectBus(systemBusAddress(), config.power.dbusTimeoutSeconds * 1000);
  return {
    notifier: createNotifier({ config, logger, gateway, openSystemBus }),
    openSystemBus,
    liveLine,
    config,
    logger,
    gateway,
    docker: createDockerAdapter(),
    drive: createDriveAdapter(gateway, { useSystemdMount: runningUnderSystemd() }),
    history: createHistoryStore(config.stateDir),
    clock: () => new Date(),
    agentVersion,
    signal,
  };
}

/**
 * SIGTERM (systemd stopping the unit, an unplug with BindsTo=), SIGINT (Ctrl-C) and SIGHUP abort
 * the run instead of killing the process, so its undos still start the server again. Further
 * signals are logged and ignored while that happens.
 */
export function abortOnSignals(controller: AbortController, logger: Logger): () => void {
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
