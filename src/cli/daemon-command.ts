import { runDaemon } from '../daemon/daemon.js';
import { exitCodes } from '../exit-codes.js';
import { openCommand } from './setup.js';

/** `daemon`: runs until SIGTERM/SIGINT, then exits 0 once a running backup has put things back. */
export async function daemonCommand(configFlag: string | undefined): Promise<number> {
  const command = await openCommand(configFlag, { writeFile: true });
  try {
    await runDaemon(command.deps);
    return exitCodes.ok;
  } finally {
    command.close();
  }
}
