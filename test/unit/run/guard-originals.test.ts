import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import type { ImmichChecksum } from '../../../src/adapters/immich-checksums.js';
import type { StepContext } from '../../../src/run/context.js';
import { RunState } from '../../../src/run/run-state.js';
import { damagedMessage } from '../../../src/run/steps/damaged-message.js';
import { immichPathsOf } from '../../../src/verify/immich-catalogue.js';
import {
  checkOriginals,
  isContentChecksum,
  recordOriginals,
  warnIfNoneKnown,
} from '../../../src/run/steps/guard-originals.js';

const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');
const mounts = ['/data', '/usr/src/app/upload'];

/** A fake database (Immich path → rows) and a fake library (relative path → content). */
function fakes(
  database: Record<string, ImmichChecksum[]>,
  library: Record<string, string | null>,
): Parameters<typeof checkOriginals>[1] & { asked: string[][] } {
  const asked: string[][] = [];
  return {
    asked,
    uploadMounts: mounts,
    lookup: (paths) => {
      asked.push([...paths]);
      return Promise.resolve(
        new Map(paths.filter((item) => database[item]).map((item) => [item, database[item]!])),
      );
    },
    hash: (relative) => {
      const content = library[relative];
      return Promise.resolve(content === undefined || content === null ? null : sha1(content));
    },
  };
}

const row = (content: string, extra: Partial<ImmichChecksum> = {}): ImmichChecksum => ({
  checksum: sha1(content),
  algorithm: 'sha1',
  isExternal: false,
  ...extra,
});

describe('which replaced originals are damaged', () => {
  test('a file that still matches Immich’s checksum is fine, one that does not is damaged', async () => {
    const deps = fakes(
      {
        '/data/upload/u/a.jpg': [row('new upload')],
        '/data/library/admin/b.jpg': [row('original')],
      },
      { 'upload/u/a.jpg': 'new upload', 'library/admin/b.jpg': 'encrypted!' },
    );
    assert.deepEqual(await checkOriginals(['upload/u/a.jpg', 'library/admin/b.jpg'], deps), {
      checked: 2,
      damaged: ['library/admin/b.jpg'],
      unknown: 0,
    });
  });

  test('files Immich has no content checksum for are unknown, never damaged', async () => {
    const deps = fakes(
      {
        '/data/library/ext.jpg': [row('x', { algorithm: 'sha1-path' })],
        '/data/library/old-ext.jpg': [row('x', { algorithm: null, isExternal: true })],
        '/data/library/short.jpg': [{ checksum: null, algorithm: 'sha1', isExternal: false }],
        '/data/library/future.jpg': [row('x', { algorithm: 'blake3' })],
      },
      {
        'library/ext.jpg': 'changed',
        'library/old-ext.jpg': 'changed',
        'library/short.jpg': 'changed',
        'library/future.jpg': 'changed',
        'library/a.jpg.xmp': 'sidecar',
        'profile/u/avatar.png': 'new avatar',
      },
    );
    const verdict = await checkOriginals(
      [
        'library/ext.jpg',
        'library/old-ext.jpg',
        'library/short.jpg',
        'library/future.jpg',
        'library/a.jpg.xmp',
        'profile/u/avatar.png',
      ],
      deps,
    );
    assert.deepEqual(verdict, { checked: 0, damaged: [], unknown: 6 });
  });

  test('an older schema (no algorithm column) holds content checksums of uploaded assets', async () => {
    const deps = fakes(
      { '/usr/src/app/upload/library/a.jpg': [row('good', { algorithm: null })] },
      { 'library/a.jpg': 'bad' },
    );
    assert.deepEqual((await checkOriginals(['library/a.jpg'], deps)).damaged, ['library/a.jpg']);
  });

  test('paths very old Immich stored relative (upload/…) are found too', async () => {
    const deps = fakes({ 'upload/library/a.jpg': [row('good')] }, { 'library/a.jpg': 'good' });
    assert.deepEqual(await checkOriginals(['library/a.jpg'], deps), {
      checked: 1,
      damaged: [],
      unknown: 0,
    });
  });

  test('a file that cannot be read as a regular file any more is not judged', async () => {
    const deps = fakes({ '/data/library/gone.jpg': [row('good')] }, { 'library/gone.jpg': null });
    assert.deepEqual(await checkOriginals(['library/gone.jpg'], deps), {
      checked: 0,
      damaged: [],
      unknown: 1,
    });
  });

  test('any of several rows that matches clears the file; names with quotes and newlines are kept exact', async () => {
    const name = `library/a "q" 'x'\n📷*.jpg`;
    const deps = fakes(
      { [`/data/${name}`]: [row('one'), row('two')] },
      { [name]: 'two', 'library/b.jpg': 'zzz' },
    );
    assert.deepEqual(await checkOriginals([name], deps), { checked: 1, damaged: [], unknown: 0 });
    const damaged = fakes({ [`/data/${name}`]: [row('one')] }, { [name]: 'two' });
    assert.deepEqual((await checkOriginals([name], damaged)).damaged, [name]);
  });

  test('files without any checksum are never read; the database is asked once for all', async () => {
    let hashed = 0;
    const deps = fakes({}, { 'library/a.jpg': 'x' });
    const verdict = await checkOriginals(['library/a.jpg', 'library/b.jpg'], {
      ...deps,
      hash: (relative) => {
        hashed += 1;
        return deps.hash(relative);
      },
    });
    assert.equal(hashed, 0);
    assert.equal(verdict.unknown, 2);
    assert.equal(deps.asked.length, 1);
  });
});

describe('Immich paths of a library file', () => {
  test('one per mount and the very old relative form, each mapping back to the file', () => {
    assert.deepEqual(immichPathsOf('library/admin/a.jpg', mounts), [
      '/data/library/admin/a.jpg',
      '/usr/src/app/upload/library/admin/a.jpg',
      'upload/library/admin/a.jpg',
    ]);
    assert.deepEqual(immichPathsOf('upload/u/a.jpg', ['/data/']), [
      '/data/upload/u/a.jpg',
      'upload/upload/u/a.jpg',
    ]);
  });

  test('a content checksum is sha1, or an uploaded asset’s before the column', () => {
    assert.equal(isContentChecksum(row('x')), true);
    assert.equal(isContentChecksum(row('x', { algorithm: 'sha1-path' })), false);
    assert.equal(isContentChecksum(row('x', { algorithm: null })), true);
    assert.equal(isContentChecksum(row('x', { algorithm: null, isExternal: true })), false);
  });
});

describe('what the record and the messages say of many damaged originals', () => {
  const names = Array.from({ length: 1500 }, (_, index) => `library/admin/IMG_${index}.jpg`);
  const runState = () =>
    new RunState('r1', 'manual', new Date('2026-12-07T10:00:00Z'), {
      dryRun: false,
      forced: false,
      catchUp: false,
      agentVersion: 'test',
    });

  test('the record names the first 1,000 and counts them all; the copy leaves every one alone', () => {
    const state = runState();
    recordOriginals({ state } as unknown as StepContext, {
      checked: 1500,
      damaged: names,
      unknown: 2,
    });
    assert.equal(state.originals?.damaged.length, 1000);
    assert.equal(state.originals?.damagedCount, 1500);
    assert.equal(state.originals?.unknown, 2);
    assert.equal(state.damagedOriginals.length, 1500);
    assert.match(
      damagedMessage(names, '2026-12-07', 'kept'),
      /IMG_9\.jpg and 1490 more \(last-run --json, the first 1000\)\. Their good copies on the drive were kept/,
    );
    assert.match(
      damagedMessage(names.slice(0, 1), '2026-12-07', 'put back'),
      /IMG_0\.jpg\. It changed while the backup ran; the previous copy was put back on the drive from versions\//,
    );
  });

  test('replaced files under library/ or upload/ that the database knows none of are said in the log', () => {
    const warned: string[] = [];
    const context = {
      config: { immich: { uploadMounts: ['/photos', '/data'] } },
      log: { warn: (_fields: unknown, message: string) => warned.push(message) },
    } as unknown as StepContext;
    const none = { checked: 0, damaged: [], unknown: 2 };
    warnIfNoneKnown(context, ['library/a.jpg', 'thumbs/b.webp'], none);
    assert.equal(warned.length, 1);
    assert.match(warned[0] ?? '', /1 replaced file under library\/ or upload\/.*\/photos, \/data/);
    warnIfNoneKnown(context, ['library/a.jpg'], { ...none, checked: 1 });
    warnIfNoneKnown(context, ['profile/u/avatar.png'], none);
    assert.equal(
      warned.length,
      1,
      'not when one is known, nor for files outside library/ and upload/',
    );
  });
});
