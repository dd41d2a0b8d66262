import { loadConfig, resolveConfigFile } from '../config/load.js';
import { runDaemon } from '../daemon/daemon.js';
import { exitCodes } from './exit-codes.js';
import { abortOnSignals, createLoggerFor, createRunDeps } from './setup.js';

/** `daemon`: runs until SIGTERM/SIGINT, then exits 0 once a running backup has put things back. */
export async function daemonCommand(configFlag: string | undefined): Promise<number> {
  const config = await loadConfig(resolveConfigFile(configFlag));
  const logger = createLoggerFor(config, { writeFile: true });
  const controller = new AbortController();
  const stopListening = abortOnSignals(controller, logger);
  try {
    await runDaemon(createRunDeps(config, logger, controller.signal));
    return exitCodes.ok;
  } finally {
    stopListening();
  }
}
