import { createLogindAdapter, type Inhibitor, type LoginSession } from '../../adapters/logind.js';
import { decidePower, type PowerInput } from '../../policy/power.js';
import type { RunRecord } from '../../history/record.js';
import type { StepContext } from '../context.js';
import { writeRecord } from '../record-run.js';

/**
 * Decides whether the machine may be powered off after this run (see policy/power.ts) and puts
 * the decision and its reason in the record. Asks logind only when everything else allows it.
 */
export async function decidePowerStep(context: StepContext): Promise<void> {
  const { request } = context;
  const { config, state } = context;
  const input: PowerInput = {
    trigger: request.trigger,
    outcome: state.verdict().outcome,
    catchUp: request.catchUp === true,
    idleShutdown: config.power.idleShutdown,
    users: config.power.users,
    sessions: [],
    inhibitors: [],
  };
  if (request.dryRun || decidePower(input).decision !== 'poweroff') {
    state.power = decidePower(input);
  } else {
    let sessions: LoginSession[] | null = null;
    let inhibitors: Inhibitor[] | null = null;
    let unsure: string | undefined;
    const bus = context.openSystemBus();
    try {
      const logind = createLogindAdapter(bus);
      sessions = await logind.sessions();
      inhibitors = await logind.inhibitors();
    } catch (error) {
      unsure = (error as Error).message;
    } finally {
      bus.close();
    }
    state.power = decidePower({ ...input, sessions, inhibitors, unsure });
  }
  if (state.power.decision !== 'not-applicable') {
    context.log.info(
      { step: 'power', ...state.power },
      `Power: ${state.power.decision}. ${state.power.reason}`,
    );
  }
}

/**
 * Asks logind to power off: ScheduleShutdown in power.delaySeconds (logged-in terminals are
 * warned and `shutdown -c` cancels it), or PowerOff when the delay is 0. Never shutdown(8) or
 * systemctl. Throws when logind refuses or does not answer.
 */
export async function requestPowerOff(context: StepContext): Promise<void> {
  const bus = context.openSystemBus();
  try {
    await createLogindAdapter(bus).powerOff(context.config.power.delaySeconds);
  } finally {
    bus.close();
  }
}

/**
 * The run's last act, once its record is written: if the decision was to power off, ask logind.
 * When logind refuses or does not answer, the machine stays on, and the record says so.
 */
export async function powerOffIfDecided(context: StepContext, record: RunRecord): Promise<void> {
  const { config, log, state } = context;
  if (state.power.decision !== 'poweroff') return;
  try {
    await requestPowerOff(context);
    log.warn(
      { step: 'power' },
      config.power.delaySeconds > 0
        ? `Asked logind to power the machine off in ${config.power.delaySeconds} s (cancel with: shutdown -c).`
        : 'Asked logind to power the machine off now.',
    );
  } catch (error) {
    state.power = {
      decision: 'stay-on',
      reason: `logind did not power off: ${(error as Error).message}`,
    };
    log.error({ step: 'power', err: error }, `The machine stays on: ${state.power.reason}`);
    record.power = state.power;
    await writeRecord(context, record);
  }
}
