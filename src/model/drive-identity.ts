/** What is known about the hardware behind a block device, read from sysfs. */
export interface DriveIdentity {
  usb: boolean;
  vendor: string | null;
  model: string | null;
  serial: string | null;
  /** Negotiated speed in Mb/s: 12, 480 (USB 2), 5000, 10000, 20000 (USB 3.x). */
  speedMbps: number | null;
  /** The USB version the device reports (2.10, 3.20). */
  usbVersion: string | null;
  /** uas (USB Attached SCSI) or usb-storage (the older, slower bulk-only driver). */
  driver: string | null;
}
