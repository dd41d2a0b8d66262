import { readFile, readlink, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DriveIdentity } from '../model/drive-identity.js';

export type { DriveIdentity } from '../model/drive-identity.js';

const notUsb: DriveIdentity = {
  usb: false,
  vendor: null,
  model: null,
  serial: null,
  speedMbps: null,
  usbVersion: null,
  driver: null,
};

async function text(file: string): Promise<string | null> {
  try {
    const value = (await readFile(file, 'utf8')).trim();
    return value === '' ? null : value;
  } catch {
    return null;
  }
}

/**
 * Reads vendor, model, serial, the negotiated USB speed and the storage driver of the device
 * behind a block device (/dev/sdb1) by walking up its sysfs path: the SCSI device gives vendor and
 * model, the USB interface its driver (uas or usb-storage), the USB device its speed, version and
 * serial. The `usb` npm package cannot map a USB device to a block device and crashes without
 * /sys/bus/usb; this needs nothing but sysfs, and says "not a USB device" for anything else
 * (a loop device, NVMe, SATA).
 */
export async function driveIdentity(device: string, sysRoot = '/sys'): Promise<DriveIdentity> {
  const name = path.basename(device);
  let current: string;
  try {
    current = await realpath(path.join(sysRoot, 'class', 'block', name));
  } catch {
    return notUsb;
  }
  const top = path.join(sysRoot, 'devices');
  const identity: DriveIdentity = { ...notUsb };
  while (current.startsWith(top) && current !== top) {
    if (
      identity.model === null &&
      (await text(path.join(current, 'model'))) !== null &&
      (await exists(path.join(current, 'vendor')))
    ) {
      identity.vendor = await text(path.join(current, 'vendor'));
      identity.model = await text(path.join(current, 'model'));
    }
    if (identity.driver === null && /^\d+-[\d.]+:\d+\.\d+$/.test(path.basename(current))) {
      identity.driver = await readlink(path.join(current, 'driver')).then(
        (target) => path.basename(target),
        () => null,
      );
    }
    if (
      (await exists(path.join(current, 'idVendor'))) &&
      (await exists(path.join(current, 'speed')))
    ) {
      identity.usb = true;
      identity.speedMbps = Number(await text(path.join(current, 'speed'))) || null;
      identity.usbVersion = await text(path.join(current, 'version'));
      identity.serial = await text(path.join(current, 'serial'));
      identity.vendor ??= await text(path.join(current, 'manufacturer'));
      identity.model ??= await text(path.join(current, 'product'));
      return identity;
    }
    current = path.dirname(current);
  }
  return notUsb;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** Practical throughput of a hard disk over USB 2 and over USB 3, in bytes per second. */
const usb2BytesPerSecond = 35e6;
const usb3BytesPerSecond = 120e6;

/**
 * A drive on a USB 2 link (480 Mb/s) copies several times slower than on USB 3; say so, with what
 * it costs for this library, so the person can move it to a blue port or change the cable.
 */
export function usbSpeedWarning(
  identity: DriveIdentity,
  libraryBytes: number | null,
): string | null {
  if (!identity.usb || identity.speedMbps === null || identity.speedMbps > 480) return null;
  const minutes = (bytes: number, rate: number): number =>
    Math.max(1, Math.round(bytes / rate / 60));
  const cost =
    libraryBytes && libraryBytes > 0
      ? ` A full copy of this library (${(libraryBytes / 1e9).toFixed(1)} GB) takes about ${minutes(libraryBytes, usb2BytesPerSecond)} min instead of about ${minutes(libraryBytes, usb3BytesPerSecond)} min.`
      : '';
  return `The backup drive runs at USB ${identity.speedMbps < 480 ? '1' : '2'} speed (${identity.speedMbps} Mb/s): copies are about ${Math.round(usb3BytesPerSecond / usb2BytesPerSecond)}× slower than at USB 3.${cost} Use a USB 3 port (often blue) and cable.`;
}
