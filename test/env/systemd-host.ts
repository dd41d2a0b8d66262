import { realpathSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { ownerLabel } from './containers.js';
import { repoRoot } from './cli.js';
import type { Sandbox } from './sandbox.js';

export const systemdImage =
  process.env.IBA_TEST_SYSTEMD_IMAGE ?? 'immich-backup-agent-test/systemd:bookworm';

/** Where the sandbox appears inside the host; outside /tmp, which the units make private. */
export const sandboxInHost = (sandbox: Sandbox): string => `/srv/iba-test/${sandbox.id}`;

export interface SystemdHost {
  name: string;
  /** Runs a command in the host as root; never throws, the caller looks at the exit code. */
  exec(...command: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Stops the machine and boots it again. */
  reboot(): Promise<void>;
  /** Runs the installed agent in the host (the same paths its units use). */
  agent(...args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

/**
 * A machine that boots systemd 252 as PID 1, in a container: the project and the host's Node
 * bind-mounted read-only, the Docker socket (the agent inside drives the same engine as the test
 * bed's containers), /dev and /sys (loop drives, udev), the host's network namespace (kernel
 * uevents reach the host's udevd through netlink, which is per network namespace), and the
 * sandbox under /srv (the units' PrivateTmp= hides /tmp). Removed by the sandbox.
 */
export async function startSystemdHost(sandbox: Sandbox): Promise<SystemdHost> {
  const name = `iba-test-${sandbox.id}-systemd`;
  const nodeModules = realpathSync(path.join(repoRoot, 'node_modules'));
  sandbox.defer(`remove the systemd host ${name}`, async () => {
    await execa('docker', ['rm', '--force', '--volumes', name], { reject: false });
  });
  await execa('docker', [
    'run',
    '--detach',
    '--name',
    name,
    '--label',
    `${ownerLabel}=${sandbox.id}`,
    '--cap-add',
    'SYS_ADMIN',
    '--security-opt',
    'seccomp=unconfined',
    '--cgroupns=host',
    // udevd tells systemd about devices over netlink, in the host's network namespace here:
    // sending there needs CAP_NET_ADMIN ("Failed to broadcast event to libudev listeners").
    '--cap-add',
    'NET_ADMIN',
    '--volume',
    '/sys/fs/cgroup:/sys/fs/cgroup:rw',
    '--tmpfs',
    '/run',
    '--tmpfs',
    '/run/lock',
    '--volume',
    '/dev:/dev',
    '--volume',
    '/sys:/sys:rw',
    '--network',
    'host',
    // Docker's device cgroup lets a container open no block device it was not given: the loop
    // drives (major 7) are what the agent inside probes and mounts.
    '--device-cgroup-rule',
    'b 7:* rmw',
    '--volume',
    `${repoRoot}:/opt/immich-backup-agent:ro`,
    // A git worktree's node_modules is a symlink to the main checkout's: there too.
    '--volume',
    `${nodeModules}:${nodeModules}:ro`,
    '--volume',
    `${process.execPath}:/usr/local/bin/node:ro`,
    '--volume',
    '/var/run/docker.sock:/var/run/docker.sock',
    '--volume',
    `${sandbox.dir}:${sandboxInHost(sandbox)}`,
    // No coldplug: it would re-announce every device of the machine; the tests announce theirs.
    '--volume',
    '/dev/null:/etc/systemd/system/systemd-udev-trigger.service:ro',
    // What a container runtime must send systemd to shut it down (SIGTERM makes it re-execute).
    '--stop-signal',
    'SIGRTMIN+3',
    '--env',
    'container=docker',
    systemdImage,
    '/lib/systemd/systemd',
  ]);
  const exec: SystemdHost['exec'] = async (...command) => {
    const result = await execa('docker', ['exec', name, ...command], { reject: false });
    return {
      exitCode: result.exitCode ?? -1,
      stdout: String(result.stdout),
      stderr: String(result.stderr),
    };
  };
  const booted = async (): Promise<void> => {
    // Booted when systemd says so (degraded counts: a unit the container cannot run may fail).
    for (let attempt = 0; attempt < 120; attempt += 1) {
      const state = (await exec('systemctl', 'is-system-running')).stdout.trim();
      if (state === 'running' || state === 'degraded') break;
      if (attempt === 119)
        throw new Error(
          `the systemd host did not boot: ${state}; ${(await exec('systemctl', '--failed', '--no-pager')).stdout}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // On a machine booted with systemd, / is a shared mount (systemd makes it so, except in a
    // container), which is how a mount PID 1 makes (systemd-mount) reaches a unit's private
    // mount namespace. Docker leaves a container's root private: make it what a real host has.
    const shared = await exec('mount', '--make-rshared', '/');
    if (shared.exitCode !== 0)
      throw new Error(`mount --make-rshared / in the systemd host: ${shared.stderr}`);
  };
  await booted();
  return {
    name,
    exec,
    async reboot() {
      // Its disk (/etc, /var) stays; /run is a fresh tmpfs, as after a real reboot.
      await execa('docker', ['restart', '--time', '30', name]);
      await booted();
    },
    agent: (...args) =>
      exec('/usr/local/bin/node', '/opt/immich-backup-agent/dist/src/cli/main.js', ...args),
  };
}
