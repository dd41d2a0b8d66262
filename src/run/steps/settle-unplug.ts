import { powerOffDrive } from '../../adapters/udisks.js';
import { chosenDrive, type StepContext } from '../context.js';

/**
 * After a plug-in run, the person wants to know whether they may pull the drive. Safe when the
 * agent mounted it and has unmounted it; with drive.powerOffAfter, UDisks2 also powers it down.
 * A drive that was mounted before (a desktop automount) stays mounted: eject it first.
 */
export async function settleUnplug(context: StepContext): Promise<void> {
  const { request } = context;
  const { state, log } = context;
  if (request.trigger !== 'hotplug' || request.dryRun || state.drive === null) return;
  const drive = state.drive;
  if (!drive.mountedByAgent) {
    state.unplug = {
      safe: false,
      poweredOff: false,
      message: `The drive is still mounted at ${drive.mountPoint} (it was mounted before the backup): eject it before unplugging.`,
    };
  } else if (state.cleanupFailed('drive')) {
    state.unplug = {
      safe: false,
      poweredOff: false,
      message: 'The drive could not be unmounted: do not unplug it yet.',
    };
  } else if (chosenDrive(context).powerOffAfter) {
    const bus = context.openSystemBus();
    try {
      const result = await powerOffDrive(bus, drive.uuid);
      state.unplug = result.done
        ? {
            safe: true,
            poweredOff: true,
            message: 'The drive is unmounted and powered down: you can unplug it.',
          }
        : {
            safe: true,
            poweredOff: false,
            message: `The drive is unmounted: you can unplug it (${result.reason}, so it was not powered down).`,
          };
    } catch (error) {
      state.unplug = {
        safe: true,
        poweredOff: false,
        message: `The drive is unmounted: you can unplug it (UDisks2 could not power it down: ${(error as Error).message}).`,
      };
    } finally {
      bus.close();
    }
  } else {
    state.unplug = {
      safe: true,
      poweredOff: false,
      message: 'The drive is unmounted: you can unplug it.',
    };
  }
  log.info({ step: 'unplug', ...state.unplug }, state.unplug.message);
}
