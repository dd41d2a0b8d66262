import { existsSync } from 'node:fs';
import path from 'node:path';
import { daemonUnitName, hotplugUnitName, ruleFileName, unitWord } from './templates.js';

/**
 * Installed by the Debian package (packaging/, scripts/package.ts): the rule and the units in the
 * distribution's folders, owned by dpkg. On such a system `install` writes no copy of them to
 * /etc (one there would override the package's, and outlive its upgrades and its removal): only
 * the configuration, what the package's rule reads to know the drives, and the units' drop-ins.
 */
export function packagedPaths(root: string): { rule: string; hotplug: string; daemon: string } {
  return {
    rule: path.join(root, 'usr/lib/udev/rules.d', ruleFileName),
    hotplug: path.join(root, 'usr/lib/systemd/system', hotplugUnitName),
    daemon: path.join(root, 'usr/lib/systemd/system', daemonUnitName),
  };
}

/** True when the package's rule and both its units are there under root. */
export function isPackaged(root: string): boolean {
  return Object.values(packagedPaths(root)).every((file) => existsSync(file));
}

/**
 * The folder the package's udev rule looks in (`TEST=="…/$env{ID_FS_UUID}"`): one file per drive
 * of the configuration, named by its filesystem UUID. udev cannot read the YAML; testing that a
 * file exists costs it no program to run on every block device of the machine.
 */
export const hotplugDrivesRelative = 'etc/immich-backup-agent/hotplug-drives';
/** Its presence lets loop devices start the unit too (drive.allowLoopDevices: test beds). */
export const loopDevicesFlagName = 'allow-loop-devices';

/** The files install writes on a packaged system, besides the configuration: [path, content]. */
export function packagedFiles(
  root: string,
  drives: { uuids: readonly string[]; allowLoopDevices: boolean; extraWritable: string[] },
): [string, string][] {
  const folder = path.join(root, hotplugDrivesRelative);
  const note = (what: string): string =>
    `# Written by \`immich-backup-agent install\` from config.yml: ${what}\n# Run install again after changing the drives in the configuration.\n`;
  const files: [string, string][] = drives.uuids.map((uuid) => {
    // The schema allows hex digits and dashes only: never a path of its own.
    if (!/^[0-9A-Fa-f-]+$/.test(uuid)) throw new Error(`not a filesystem UUID: ${uuid}`);
    return [
      path.join(folder, uuid),
      note(`a block device with this filesystem UUID starts the backup unit.`),
    ];
  });
  if (drives.allowLoopDevices)
    files.push([
      path.join(folder, loopDevicesFlagName),
      note('loop devices may start the backup unit too (drive.allowLoopDevices).'),
    ]);
  if (drives.extraWritable.length > 0) {
    // A drop-in adds to the package's unit: ReadWritePaths= accumulates.
    const dropIn = [
      '# Written by `immich-backup-agent install`: folders of this configuration (a mount point,',
      "# the log file's folder) outside the ones the package's unit makes writable.",
      '[Service]',
      `ReadWritePaths=${drives.extraWritable.map((writable) => unitWord(`-${writable}`, 'path')).join(' ')}`,
      '',
    ].join('\n');
    for (const unit of [daemonUnitName, hotplugUnitName])
      files.push([path.join(root, 'etc/systemd/system', `${unit}.d`, '50-install.conf'), dropIn]);
  }
  return files;
}
