import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { pino } from 'pino';
import { isAgentError } from '../../../src/errors.js';
import type { StepContext } from '../../../src/run/context.js';
import { RunState } from '../../../src/run/run-state.js';
import { restoreKitStep } from '../../../src/run/steps/restore-kit.js';
import type { PreparedDrive } from '../../../src/session/prepare-drive.js';
import { brokenTar, fakeEngine, idA, idB, makeKitDir, removeKitDir } from './kit-images-engine.js';

/**
 * The run's restore-kit step with restoreKit.images, on a fake engine and a folder for the
 * drive: a stopped run writes nothing, and an image that fails does not hide those saved.
 */
let base: string;
beforeEach(async () => {
  base = path.dirname(await makeKitDir());
});
afterEach(() => removeKitDir(path.join(base, 'restore-kit')));

const backupDir = () => path.join(base, 'drive', 'immich-backup');
const kitDir = () => path.join(backupDir(), 'restore-kit');

function setUp(signal: AbortSignal) {
  const engine = fakeEngine([idA, idB]);
  const running: Record<string, { image: string; imageId: string }> = {
    immich_server: { image: 'server:v2', imageId: idB },
    immich_postgres: { image: 'db:17', imageId: idA },
  };
  Object.assign(engine.docker, {
    inspect: (name: string) => Promise.resolve(running[name] ?? null),
    execCollect: () => Promise.reject(new Error('no database here')),
  });
  const state = new RunState('run-1', 'manual', new Date(), {
    dryRun: false,
    forced: false,
    catchUp: false,
    agentVersion: '1.0.0',
  });
  const context = {
    signal,
    state,
    docker: engine.docker,
    log: pino({ level: 'silent' }),
    request: { dryRun: false },
    agentVersion: '1.0.0',
    driveConfig: { backupDir: 'immich-backup' },
    drive: { proveOnDrive: () => Promise.resolve() },
    config: {
      stateDir: path.join(base, 'state'),
      restoreKit: { enabled: true, images: true },
      secrets: { databasePassword: '' },
      immich: {
        appDir: path.join(base, 'app'),
        libraryDir: path.join(base, 'library'),
        serverContainer: 'immich_server',
        databaseContainer: 'immich_postgres',
        immichVersion: 'v2',
        databaseName: 'immich',
        databaseUser: 'postgres',
        uploadMounts: [],
        composeFile: null,
      },
    },
  } as unknown as StepContext;
  const target = { backupDir: backupDir(), filesystem: { uuid: '1234-ABCD' } } as PreparedDrive;
  return { context, target, engine, state };
}

describe('the restore-kit step', () => {
  test('a run told to stop before the step writes nothing', async () => {
    await mkdir(backupDir(), { recursive: true });
    const { context, target, engine, state } = setUp(AbortSignal.abort());
    await restoreKitStep(context, target);
    assert.equal(existsSync(kitDir()), false);
    assert.deepEqual(engine.calls.save, []);
    assert.equal(state.restoreKit, null);
  });

  test('a stop while an image is saved ends the step as INTERRUPTED, with nothing written after', async () => {
    await mkdir(backupDir(), { recursive: true });
    const controller = new AbortController();
    const { context, target, engine } = setUp(controller.signal);
    const saveImage = engine.docker.saveImage.bind(engine.docker);
    engine.docker.saveImage = (reference: string) => {
      setImmediate(() => controller.abort());
      return saveImage(reference);
    };
    await assert.rejects(restoreKitStep(context, target), (error: unknown) =>
      isAgentError(error, 'INTERRUPTED'),
    );
    assert.deepEqual(await readdir(kitDir()), ['images']);
    assert.deepEqual(await readdir(path.join(kitDir(), 'images')), []);
  });

  test('an image that fails to save does not make those already saved "not saved"', async () => {
    await mkdir(backupDir(), { recursive: true });
    const first = setUp(new AbortController().signal);
    await restoreKitStep(first.context, first.target);
    assert.equal(first.state.restoreKit?.images?.saved, 2);
    // The next run: the server's image changed and its save fails; the database's is there.
    const next = setUp(new AbortController().signal);
    const idC = `sha256:${'c'.repeat(64)}`;
    next.engine.images.set(idC, { id: idC, repoTags: [], repoDigests: [], size: 1000 });
    Object.assign(next.context.docker, {
      inspect: (name: string) =>
        Promise.resolve(
          name === 'immich_server'
            ? { image: 'server:v3', imageId: idC }
            : { image: 'db:17', imageId: idA },
        ),
      saveImage: () => brokenTar(),
    });
    await restoreKitStep(next.context, next.target);
    assert.equal(next.state.restoreKit?.images?.present, 1);
    assert.match(next.state.warnings.join('\n'), /engine hung up/);
  });
});
