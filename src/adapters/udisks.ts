import { dbusNext, type BusClient } from './dbus.js';

const service = 'org.freedesktop.UDisks2';

export type DrivePowerOffResult = { done: true } | { done: false; reason: string };

/**
 * Powers the drive down through UDisks2 (Drive.PowerOff: the device is deconfigured and its USB
 * port switched off), after it has been unmounted. Finds the drive from the filesystem UUID
 * (Manager.ResolveDevice, Block.Drive). Returns why not when it cannot.
 */
export async function powerOffDrive(bus: BusClient, uuid: string): Promise<DrivePowerOffResult> {
  const { Variant } = dbusNext();
  const [blocks] = (await bus.call(
    service,
    '/org/freedesktop/UDisks2/Manager',
    `${service}.Manager`,
    'ResolveDevice',
    'a{sv}a{sv}',
    [{ uuid: new Variant('s', uuid) }, { 'auth.no_user_interaction': new Variant('b', true) }],
  )) as [string[]];
  const block = blocks?.[0];
  if (!block) return { done: false, reason: `UDisks2 does not know a device with UUID ${uuid}` };
  const drive = String(await bus.get(service, block, `${service}.Block`, 'Drive'));
  if (!drive || drive === '/')
    return {
      done: false,
      reason: 'UDisks2 sees no drive behind the device (a loop device or an image?)',
    };
  if ((await bus.get(service, drive, `${service}.Drive`, 'CanPowerOff')) !== true) {
    return { done: false, reason: 'UDisks2 says this drive cannot be powered off' };
  }
  await bus.call(service, drive, `${service}.Drive`, 'PowerOff', 'a{sv}', [
    { 'auth.no_user_interaction': new Variant('b', true) },
  ]);
  return { done: true };
}
