import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { HardwareIdentity } from '../adapters/device-identity.js';
import { writeFileAtomic } from '../files/atomic-files.js';
import { readSmallRegularFile } from '../files/small-file.js';
import { stateFolder } from '../layout/state-folder.js';

/** What the agent keeps of a drive it trusts: its hardware, and its token's keyed hash. */
export interface DrivePin {
  uuid: string;
  identity: HardwareIdentity;
  /** HMAC-SHA256 of the token on the drive, keyed with the state folder's key (hex). */
  tokenHash: string;
  pinnedAt: string;
  /** How it came to be trusted: first use, `drive trust`, install. */
  how: string;
}

const nullableText = z.string().nullable();
const pinSchema = z.object({
  uuid: z.string(),
  identity: z.object({
    kind: z.enum(['usb', 'loop', 'disk']),
    serial: nullableText,
    wwn: nullableText,
    model: nullableText,
    sizeBytes: z.number().nullable(),
    backingFile: nullableText,
    backingInode: nullableText,
  }),
  tokenHash: z.string().regex(/^[0-9a-f]{64}$/),
  pinnedAt: z.string(),
  how: z.string(),
});

export type PinLookup = { pin: DrivePin } | { none: true } | { broken: string };

export interface TrustKey {
  /** Names the token file on the drive: several agents sharing a drive keep one each. */
  id: string;
  hash(token: string): string;
  matches(token: string, tokenHash: string): boolean;
}

/**
 * The pins in the state folder (root's own, trusted like the configuration): one file per
 * drive and the key their hashes are keyed with, all 0600, whatever the umask. The key stays on
 * the machine, so the hash in a pin tells nothing about the token to whoever reads a backup of
 * the state folder.
 */
export function trustStore(stateDir: string) {
  const folder = stateFolder(stateDir);
  const pinFile = (uuid: string): string =>
    path.join(folder.trustedDrivesDir, `${uuid.toLowerCase().replace(/[^0-9a-z-]/g, '_')}.json`);
  return {
    async readPin(uuid: string): Promise<PinLookup> {
      const read = await readSmallRegularFile(pinFile(uuid), 64 * 1024);
      if ('absent' in read) {
        return /ENOENT/.test(read.absent) ? { none: true } : { broken: read.absent };
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(read.text);
      } catch {
        return { broken: 'it is not JSON' };
      }
      const checked = pinSchema.safeParse(parsed);
      return checked.success ? { pin: checked.data } : { broken: 'it is not a pin' };
    },
    async writePin(pin: DrivePin): Promise<void> {
      await mkdir(folder.trustedDrivesDir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(pinFile(pin.uuid), JSON.stringify(pin, null, 2) + '\n', 0o600);
    },
    /** The key; made (0600, exclusively) on first need when `create`, else null if missing. */
    async key(create: boolean): Promise<TrustKey | null> {
      let read = await readSmallRegularFile(folder.driveTrustKeyFile, 1024);
      if ('absent' in read && /ENOENT/.test(read.absent) && create) {
        await mkdir(stateDir, { recursive: true, mode: 0o700 });
        const handle = await open(folder.driveTrustKeyFile, 'wx', 0o600).catch(
          (error: NodeJS.ErrnoException) => {
            if (error.code === 'EEXIST') return null; // another run made it first
            throw error;
          },
        );
        if (handle) {
          try {
            await handle.chmod(0o600);
            await handle.writeFile(`${randomBytes(32).toString('hex')}\n`);
            await handle.sync();
          } finally {
            await handle.close();
          }
        }
        read = await readSmallRegularFile(folder.driveTrustKeyFile, 1024);
      }
      if ('absent' in read) return null;
      const secret = read.text.trim();
      if (!/^[0-9a-f]{64}$/.test(secret)) return null;
      const hash = (token: string): string =>
        createHmac('sha256', secret).update(token).digest('hex');
      return {
        id: createHmac('sha256', secret).update('drive token file name').digest('hex').slice(0, 16),
        hash,
        matches: (token, tokenHash) =>
          timingSafeEqual(Buffer.from(hash(token), 'hex'), Buffer.from(tokenHash, 'hex')),
      };
    },
  };
}
