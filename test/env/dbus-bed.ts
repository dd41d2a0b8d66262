import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { repoRoot } from './cli.js';
import type { Sandbox } from './sandbox.js';

const standInScript = path.join(repoRoot, 'test/env/standins/dbus_standin.py');

export interface PrivateBus {
  address: string;
  socket: string;
}

/**
 * A private dbus-daemon of the test's own (never the machine's bus): a stand-in for the system
 * bus, or, with `user`, a user's session bus (the daemon drops to that user, as a session bus
 * runs as its user). Stopped by the sandbox.
 */
export async function startPrivateBus(
  sandbox: Sandbox,
  name: string,
  options: { user?: string } = {},
): Promise<PrivateBus> {
  const socket = sandbox.path(`${name}.sock`);
  const config = sandbox.path(`${name}.conf`);
  await writeFile(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  ${options.user ? `<user>${options.user}</user>` : ''}
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`,
  );
  const daemon = execa('dbus-daemon', [`--config-file=${config}`, '--nofork', '--print-address'], {
    buffer: false,
    reject: false,
  });
  sandbox.defer(`stop the ${name} bus`, async () => {
    daemon.kill('SIGTERM');
    await daemon;
  });
  const address = await new Promise<string>((resolve, reject) => {
    let output = '';
    daemon.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('\n')) resolve(output.trim());
    });
    void daemon.then((result) => reject(new Error(`dbus-daemon ended: ${String(result.stderr)}`)));
  });
  return { address, socket };
}

export interface StandInCall {
  method: string;
  args: unknown[];
  time: number;
  senderUid?: number | null;
}

export interface StandIn {
  calls(): Promise<StandInCall[]>;
  stop(): Promise<void>;
}

/** Starts one of the Python stand-ins (logind, udisks, notifications) on a private bus. */
export async function startStandIn(
  sandbox: Sandbox,
  kind: 'logind' | 'udisks' | 'notifications',
  bus: PrivateBus,
  scenario: unknown,
): Promise<StandIn> {
  const tag = `${kind}-${Date.now()}-${Math.round(Math.random() * 1e6)}`;
  const scenarioFile = sandbox.path(`${tag}.scenario.json`);
  const recordFile = sandbox.path(`${tag}.calls.jsonl`);
  await writeFile(scenarioFile, JSON.stringify(scenario));
  await writeFile(recordFile, '');
  const child: ResultPromise = execa(
    '/usr/bin/python3',
    [standInScript, kind, '--bus', bus.address, '--scenario', scenarioFile, '--record', recordFile],
    {
      buffer: false,
      reject: false,
    },
  );
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    child.kill('SIGTERM');
    await child;
  };
  sandbox.defer(`stop the ${kind} stand-in`, stop);
  await new Promise<void>((resolve, reject) => {
    let errors = '';
    child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    void child.then(() => reject(new Error(`the ${kind} stand-in ended: ${errors}`)));
  });
  return {
    async calls() {
      const text = await readFile(recordFile, 'utf8');
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as StandInCall);
    },
    stop,
  };
}
