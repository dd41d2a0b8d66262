import { desktopSessions, notifyUser, type DesktopMessage } from '../adapters/desktop-notify.js';
import type { BusClient } from '../adapters/dbus.js';
import { createLogindAdapter } from '../adapters/logind.js';
import type { ProcessGateway } from '../adapters/process.js';
import { sendWebhook, type WebhookEvent } from '../adapters/webhooks.js';
import type { AgentConfig } from '../config/load.js';
import { formatBytes, plural } from '../format.js';
import type { RunRecord, Trigger } from '../history/record.js';
import type { Logger } from '../log/logger.js';

/** Tells the people involved what happened: on their desktop, and through HTTP pings. */
export interface Notifier {
  started(run: { runId: string; trigger: Trigger }): Promise<void>;
  finished(record: RunRecord): Promise<void>;
}

export interface NotifierDeps {
  config: AgentConfig;
  logger: Logger;
  gateway: ProcessGateway;
  openSystemBus: () => BusClient;
}

/** What to say, or nothing. A manual run has its person at the terminal: no desktop message. */
export function desktopMessageFor(record: RunRecord): DesktopMessage | null {
  if (record.dryRun) return null;
  if (record.outcome === 'failed' || record.outcome === 'interrupted') {
    if (record.trigger === 'manual') return null;
    return {
      summary:
        record.outcome === 'failed' ? 'Immich backup FAILED' : 'Immich backup was interrupted',
      // After a plug-in run, whether the drive may come out now, failed or not.
      body: [record.message, record.hint, record.unplug?.message].filter(Boolean).join(' '),
      urgency: 'critical',
    };
  }
  if (record.outcome === 'skipped') {
    if (record.trigger === 'schedule' && record.reason === 'DRIVE_ABSENT') {
      return {
        summary: 'Plug in the backup drive',
        body: 'The weekly Immich backup is due. Plug in the backup drive; the backup will start by itself.',
        urgency: 'normal',
      };
    }
    return null;
  }
  if (record.trigger === 'manual') return null;
  const files = record.files
    ? `${plural(record.files.transferredFiles, 'new file')} (${formatBytes(record.files.transferredBytes)})`
    : 'no files';
  const database = record.database ? `, database ${formatBytes(record.database.bytes)}` : '';
  return {
    summary:
      record.outcome === 'warning'
        ? 'Immich backup finished with warnings'
        : 'Immich backup finished',
    // A warning names what needs doing (files the drive could not store are named there).
    body: [`${files}${database}.`, ...record.warnings, record.unplug?.message ?? '']
      .filter(Boolean)
      .join(' '),
    urgency: 'normal',
  };
}

/**
 * The same news without details, for a session of someone not in `power.users`: no paths, no
 * file names, no error text (those name the library's files and folders, and a desktop
 * notification is seen by whoever sits there). Counts and whether the drive may come out are
 * not private. With `power.users: []` nobody is named as the machine's owner, so everyone gets
 * this one; the details are in the log and `status`, which only root reads.
 */
export function genericMessageFor(
  message: DesktopMessage,
  record: RunRecord | null,
): DesktopMessage {
  if (record === null) return message; // start and "plug in the drive": nothing private in them
  const unplug = record.unplug
    ? record.unplug.safe
      ? 'The drive is unmounted: you can unplug it.'
      : 'Do not unplug the drive yet.'
    : '';
  const seeStatus = 'See `immich-backup-agent status` for why.';
  if (record.outcome === 'failed' || record.outcome === 'interrupted') {
    const what = record.outcome === 'failed' ? 'failed' : 'was interrupted';
    return {
      ...message,
      body: [`The Immich backup ${what}.`, seeStatus, unplug].filter(Boolean).join(' '),
    };
  }
  if (record.outcome === 'success' || record.outcome === 'warning') {
    const files = record.files
      ? `${plural(record.files.transferredFiles, 'new file')} (${formatBytes(record.files.transferredBytes)})`
      : 'no files';
    const warned = record.outcome === 'warning' ? `It needs attention. ${seeStatus}` : '';
    return { ...message, body: [`${files}.`, warned, unplug].filter(Boolean).join(' ') };
  }
  return message;
}

/** Warnings that mean something is damaged: told to webhooks as failures. */
const alarmCodes = new Set(['ORIGINALS_DAMAGED', 'BACKUP_DAMAGED']);

/**
 * The alarm a finished run carries, or null: its reason, or what its record shows when another
 * warning (an unmount that failed) took the reason's place.
 */
export function alarmOf(record: RunRecord): string | null {
  if (record.reason !== null && alarmCodes.has(record.reason)) return record.reason;
  if ((record.originals?.damagedCount ?? record.originals?.damaged.length ?? 0) > 0)
    return 'ORIGINALS_DAMAGED';
  const readBack = record.readBack;
  if (readBack && readBack.mismatches.length + readBack.missing.length > 0) return 'BACKUP_DAMAGED';
  return null;
}

export function createNotifier(deps: NotifierDeps): Notifier {
  const { config, logger, gateway } = deps;
  const log = logger.child({ step: 'notify' });

  /** Details only to the sessions of `power.users`; everyone else gets the generic line. */
  const toDesktops = async (message: DesktopMessage, record: RunRecord | null): Promise<void> => {
    if (!config.notify.desktop) return;
    let users: Map<number, string>;
    const bus = deps.openSystemBus();
    try {
      const sessions = await createLogindAdapter(bus).sessions();
      users = new Map(desktopSessions(sessions).map((session) => [session.uid, session.user]));
    } catch (error) {
      log.debug(
        { err: error },
        `No desktop notification: logind could not be asked (${(error as Error).message}).`,
      );
      return;
    } finally {
      bus.close();
    }
    const generic = genericMessageFor(message, record);
    for (const [uid, user] of users) {
      try {
        await notifyUser(gateway, {
          uid,
          busAddressTemplate: config.notify.userBusAddress,
          message: config.power.users.includes(user) ? message : generic,
          timeoutSeconds: config.power.dbusTimeoutSeconds,
        });
        log.info({ uid }, `Told the desktop of uid ${uid}: ${message.summary}.`);
      } catch (error) {
        log.warn(
          { uid, err: error },
          `Could not show a notification to uid ${uid}: ${(error as Error).message}`,
        );
      }
    }
  };

  const toWebhooks = async (
    event: WebhookEvent,
    title: string,
    text: string,
    record: unknown,
  ): Promise<void> => {
    for (const hook of config.notify.webhooks.filter((candidate) =>
      candidate.events.includes(event),
    )) {
      const host = new URL(hook.url).host; // the path may hold a ping key: not logged
      try {
        const status = await sendWebhook(
          hook,
          event,
          { title, text, record },
          config.power.dbusTimeoutSeconds * 2000,
        );
        log.info({ host, event, status }, `Pinged ${hook.kind} at ${host} (${event}).`);
      } catch (error) {
        // Not the error object: fetch's own errors carry the whole URL, ping key and all.
        const said = (error as Error).message.replaceAll(hook.url, host);
        log.warn({ host, event }, `Could not ping ${hook.kind} at ${host} (${event}): ${said}`);
      }
    }
  };

  // A notification that fails is logged; it never fails, nor delays much, the backup.
  return {
    async started(run) {
      await toWebhooks(
        'start',
        'Immich backup started',
        `Immich backup ${run.runId} (${run.trigger}) started.`,
        { id: run.runId, trigger: run.trigger },
      );
      if (run.trigger === 'hotplug') {
        await toDesktops(
          {
            summary: 'Backing up Immich to the USB drive',
            body: 'Keep the drive plugged in until the backup says it is done.',
            urgency: 'normal',
          },
          null,
        );
      }
    },
    async finished(record) {
      if (record.dryRun) return;
      const message = desktopMessageFor(record);
      if (message) await toDesktops(message, record);
      if (record.outcome === 'success') {
        await toWebhooks('success', 'Immich backup finished', record.message, record);
      } else if (record.outcome === 'warning') {
        // The warnings say what needs doing (ORIGINALS_DAMAGED names the files kept). Damaged
        // originals (possible ransomware) or a damaged backup go out as a failure: a hook that
        // listens for failures only hears of them, and ntfy sends them high, with a warning tag.
        const alarm = alarmOf(record);
        await toWebhooks(
          alarm ? 'failure' : 'success',
          alarm
            ? `Immich backup needs attention: ${alarm}`
            : 'Immich backup finished with warnings',
          [record.message, ...record.warnings].join(' '),
          record,
        );
      } else if (record.outcome === 'failed' || record.outcome === 'interrupted') {
        await toWebhooks(
          'failure',
          `Immich backup ${record.outcome}`,
          [record.message, record.hint].filter(Boolean).join(' '),
          record,
        );
      }
    },
  };
}
