import type { ProcessGateway } from '../adapters/process.js';
import { AgentError } from '../errors.js';

/** A command that makes udev or systemd take what install wrote (or forget what it removed). */
export interface SystemCommand {
  file: string;
  args: readonly string[];
  /** How long it may take before it counts as not run. */
  timeoutMs: number;
}

const daemonUnit = 'immich-backup-agent.service';

/**
 * The commands, with their time limits. Starting the daemon is quick (Type=simple); stopping it
 * may wait for a running backup to put the server back (TimeoutStopSec=2min, then its
 * ExecStopPost recover), so `disable --now` gets the longest.
 */
export const systemCommands = {
  reloadUdev: { file: 'udevadm', args: ['control', '--reload'], timeoutMs: 30_000 },
  reloadSystemd: { file: 'systemctl', args: ['daemon-reload'], timeoutMs: 90_000 },
  enableDaemon: { file: 'systemctl', args: ['enable', '--now', daemonUnit], timeoutMs: 120_000 },
  disableDaemon: { file: 'systemctl', args: ['disable', '--now', daemonUnit], timeoutMs: 300_000 },
} as const satisfies Record<string, SystemCommand>;

/**
 * Runs one through the process gateway and says how it went, as one line for the person who ran
 * install: `ran: …`, or `could not run …: why`. Never throws: the files are in place either way,
 * and the line tells what to run by hand.
 */
export async function runSystemCommand(
  gateway: ProcessGateway,
  command: SystemCommand,
): Promise<string> {
  const shown = [command.file, ...command.args].join(' ');
  try {
    const result = await gateway.run({
      tool: command.file,
      file: command.file,
      args: command.args,
      timeoutMs: command.timeoutMs,
      step: 'install',
    });
    return result.exitCode === 0
      ? `ran: ${shown}`
      : `could not run ${shown}: ${result.stderr.trim() || `exit ${result.exitCode}`}`;
  } catch (error) {
    if (error instanceof AgentError) return `could not run ${shown}: ${error.message}`;
    throw error;
  }
}
