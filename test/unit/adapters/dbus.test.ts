import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectBus } from '../../../src/adapters/dbus.js';
import { AgentError } from '../../../src/errors.js';

// dbus-next throws at once for a malformed address (instead of its 'error' event). The adapter
// turns that into the same answer as a bus that is not there, call by call, so power-off,
// notifications and the unplug step stay in their "unsure: keep the machine on" paths.
for (const address of ['nonsense', 'tcp:host=nowhere', 'unix:path=/nonexistent/iba/no-bus']) {
  test(`a bus at ${JSON.stringify(address)} fails each call with DBUS_FAILED, never at connect`, async () => {
    const bus = connectBus(address, 2000);
    await assert.rejects(
      bus.call(
        'org.freedesktop.login1',
        '/org/freedesktop/login1',
        'org.freedesktop.login1.Manager',
        'ListSessions',
      ),
      (error: unknown) => error instanceof AgentError && error.code === 'DBUS_FAILED',
    );
    await assert.rejects(
      bus.getAll(
        'org.freedesktop.login1',
        '/org/freedesktop/login1',
        'org.freedesktop.login1.Manager',
      ),
      (error: unknown) => error instanceof AgentError && /not reachable/.test(error.message),
    );
    bus.close();
  });
}
