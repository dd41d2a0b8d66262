import { createRequire } from 'node:module';
import type DBus from 'dbus-next';

/** dbus-next, loaded only when a bus is used (most runs never need one). */
export function dbusNext(): typeof DBus {
  return createRequire(import.meta.url)('dbus-next') as typeof DBus;
}
import { AgentError } from '../errors.js';

/** The system bus `DBUS_SYSTEM_BUS_ADDRESS` names, else the standard one. */
export function systemBusAddress(env = process.env): string {
  return env.DBUS_SYSTEM_BUS_ADDRESS || 'unix:path=/var/run/dbus/system_bus_socket';
}

/**
 * A D-Bus connection from the caller's side. dbus-next has no call timeouts, so every call here
 * has one; a bus that is not there fails the pending calls at once instead of hanging. Calls go
 * out as plain messages (no introspection), which is all the agent needs.
 */
export interface BusClient {
  call(
    destination: string,
    path: string,
    iface: string,
    member: string,
    signature?: string,
    body?: unknown[],
  ): Promise<unknown[]>;
  /** org.freedesktop.DBus.Properties.GetAll, with the variants unwrapped. */
  getAll(destination: string, path: string, iface: string): Promise<Record<string, unknown>>;
  get(destination: string, path: string, iface: string, property: string): Promise<unknown>;
  close(): void;
}

export function connectBus(address: string, timeoutMs: number): BusClient {
  let broken: Error | null = null;
  const failures: ((error: Error) => void)[] = [];
  const dbus = dbusNext();
  let bus: ReturnType<typeof dbus.sessionBus> | null = null;
  try {
    bus = dbus.sessionBus({ busAddress: address });
    // dbus-next reports a bus that is not there as an 'error' event; unhandled, it would crash.
    bus.on('error', (error: Error) => {
      broken = error;
      for (const fail of failures.splice(0)) fail(error);
    });
  } catch (error) {
    // A malformed address or an unknown transport throws at once instead: the same "not
    // reachable" for every call, so no caller has to guard the connect itself.
    broken = error as Error;
  }

  const call: BusClient['call'] = async (destination, path, iface, member, signature, body) => {
    const what = `${iface.split('.').at(-1)}.${member}`;
    if (broken || !bus) throw unavailable(address, what, broken ?? new Error('no connection'));
    const connected = bus;
    let timer: NodeJS.Timeout | undefined;
    let onFailure: ((error: Error) => void) | undefined;
    try {
      const reply = await Promise.race([
        connected.call(
          new dbus.Message({ destination, path, interface: iface, member, signature, body }),
        ),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new AgentError(
                  'DBUS_FAILED',
                  `D-Bus call ${what} got no answer within ${timeoutMs} ms.`,
                  { step: 'dbus' },
                ),
              ),
            timeoutMs,
          );
        }),
        new Promise<never>((_, reject) => {
          onFailure = (error) => reject(unavailable(address, what, error));
          failures.push(onFailure);
        }),
      ]);
      return (reply?.body ?? []) as unknown[];
    } catch (error) {
      if (error instanceof AgentError) throw error;
      const name = (error as { type?: string }).type;
      throw new AgentError(
        'DBUS_FAILED',
        `D-Bus call ${what} failed: ${name ? `${name}: ` : ''}${(error as { text?: string }).text ?? (error as Error).message}`,
        {
          step: 'dbus',
          cause: error,
          details: { errorName: name ?? null },
        },
      );
    } finally {
      clearTimeout(timer);
      if (onFailure) failures.splice(failures.indexOf(onFailure), 1);
    }
  };

  return {
    call,
    async getAll(destination, path, iface) {
      const [values] = (await call(
        destination,
        path,
        'org.freedesktop.DBus.Properties',
        'GetAll',
        's',
        [iface],
      )) as [Record<string, { value: unknown }>];
      return Object.fromEntries(
        Object.entries(values ?? {}).map(([key, variant]) => [key, variant.value]),
      );
    },
    async get(destination, path, iface, property) {
      const [variant] = (await call(
        destination,
        path,
        'org.freedesktop.DBus.Properties',
        'Get',
        'ss',
        [iface, property],
      )) as [{ value: unknown }];
      return variant?.value;
    },
    close() {
      try {
        bus?.disconnect();
      } catch {
        // already gone
      }
    },
  };
}

function unavailable(address: string, what: string, cause: Error): AgentError {
  return new AgentError(
    'DBUS_FAILED',
    `D-Bus at ${address} is not reachable (${cause.message}), so ${what} could not be asked.`,
    {
      step: 'dbus',
      cause,
    },
  );
}
