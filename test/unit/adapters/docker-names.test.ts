import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createDockerAdapter } from '../../../src/adapters/docker.js';
import { AgentError } from '../../../src/errors.js';

describe('a container name Docker could not have is refused before any engine call', () => {
  // No engine here: a call that reached for it would fail DOCKER_UNAVAILABLE instead.
  const docker = createDockerAdapter({
    socketPath: '/nonexistent/immich-backup-agent/docker.sock',
  });
  const refused = (error: unknown): boolean => {
    assert.ok(error instanceof AgentError, String(error));
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.match(error.message, /"a\/\.\.\/b" is not a container name Docker accepts/);
    assert.match(error.hint ?? '', /immich\.serverContainer/);
    return true;
  };

  for (const [what, call] of [
    ['inspect', () => docker.inspect('a/../b')],
    ['stop', () => docker.stop('a/../b', 1)],
    ['start', () => docker.start('a/../b')],
    ['exec', () => docker.exec('a/../b', ['true'])],
    ['execCollect', () => docker.execCollect('a/../b', ['true'])],
    ['remove', () => docker.remove('a/../b')],
    [
      'runThrowaway',
      () => docker.runThrowaway({ name: 'a/../b', image: 'x', env: [], labels: {} }),
    ],
  ] as const) {
    test(`${what}("a/../b") is CONFIG_INVALID, not a call`, async () => {
      await assert.rejects(call(), refused);
    });
  }

  test('a good name does reach for the engine (here: none, DOCKER_UNAVAILABLE)', async () => {
    await assert.rejects(docker.inspect('immich_server'), (error: unknown) => {
      assert.ok(error instanceof AgentError);
      assert.equal(error.code, 'DOCKER_UNAVAILABLE');
      return true;
    });
  });
});
