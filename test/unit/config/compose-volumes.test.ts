import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { uploadMountsOf } from '../../../src/config/compose-volumes.js';
import { readImmichInstall } from '../../../src/config/immich-discovery.js';
import { repoRoot } from '../../env/cli.js';

const fixtures = path.join(repoRoot, 'test/fixtures/immich');
let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'compose-volumes-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let count = 0;
/** An app folder with Immich's example .env and this compose file. */
async function install(compose: string, env = 'immich-example.env') {
  const folder = path.join(root, `app-${(count += 1)}`);
  await mkdir(folder);
  await copyFile(path.join(fixtures, env), path.join(folder, '.env'));
  await writeFile(path.join(folder, 'docker-compose.yml'), compose);
  return readImmichInstall(folder);
}

const withServerVolumes = async (volumes: string): Promise<string> =>
  (await readFile(path.join(fixtures, 'immich-docker-compose.yml'), 'utf8')).replace(
    /( {4}volumes:\n)(?: {6}#.*\n)? {6}- \$\{UPLOAD_LOCATION\}:\/data\n/,
    `$1${volumes}`,
  );

describe("the server's mount of UPLOAD_LOCATION comes from the compose file", () => {
  test("Immich's current compose file mounts it at /data (and the old default is tried too)", async () => {
    const found = await install(
      await readFile(path.join(fixtures, 'immich-docker-compose.yml'), 'utf8'),
    );
    assert.deepEqual(found.uploadMounts, ['/data', '/usr/src/app/upload']);
    assert.deepEqual(found.problems, []);
  });

  test('the v1 compose file at /usr/src/app/upload', async () => {
    const found = await install(
      await readFile(path.join(fixtures, 'immich-docker-compose-v1.yml'), 'utf8'),
      'immich-example-v1.env',
    );
    assert.deepEqual(found.uploadMounts, ['/usr/src/app/upload', '/data']);
  });

  test('the long syntax, a read-only mount, and the folder written out instead of the variable', async () => {
    const long = await install(
      await withServerVolumes(
        '      - type: bind\n        source: ${UPLOAD_LOCATION}\n        target: /photos/\n',
      ),
    );
    // What the file says first; the defaults after it, always (a wrong mount still finds them).
    assert.deepEqual(long.uploadMounts, ['/photos', '/data', '/usr/src/app/upload']);
    const literal = await install(await withServerVolumes('      - ./library:/srv/upload:ro\n'));
    assert.deepEqual(literal.uploadMounts, ['/srv/upload', '/data', '/usr/src/app/upload']);
  });

  test("a target with '..' or a relative one is refused and named; the defaults are used", async () => {
    const found = await install(
      await withServerVolumes('      - ${UPLOAD_LOCATION}:/data/../etc\n'),
    );
    assert.deepEqual(found.uploadMounts, ['/data', '/usr/src/app/upload']);
    assert.match(found.problems.join('\n'), /"\/data\/\.\.\/etc" holds "\." or "\.\."/);
  });

  test('no volume of UPLOAD_LOCATION, or no compose file: the defaults', async () => {
    const found = await install(await withServerVolumes('      - /srv/other:/data\n'));
    assert.deepEqual(found.uploadMounts, ['/data', '/usr/src/app/upload']);
    const bare = path.join(root, 'bare');
    await mkdir(bare);
    assert.deepEqual((await readImmichInstall(bare)).uploadMounts, [
      '/data',
      '/usr/src/app/upload',
    ]);
  });
});

describe('uploadMountsOf reads one service', () => {
  const env = new Map([['UPLOAD_LOCATION', '/srv/immich library']]);

  test("compose's forms of the variable, a default with a colon in it, and $UPLOAD_LOCATION", () => {
    const volumes = [
      '${UPLOAD_LOCATION:-./x:y}:/a',
      '$UPLOAD_LOCATION:/b:ro',
      '${UPLOAD_LOCATION_OTHER}:/c',
      '/srv/immich library/:/d',
      { type: 'volume', source: '${UPLOAD_LOCATION}', target: '/e' },
      { source: '/srv/immich library', target: '/f' },
      '${UPLOAD_LOCATION}:relative',
      '${UPLOAD_LOCATION}:/',
      { source: '${UPLOAD_LOCATION}', target: '//' },
      42,
    ];
    assert.deepEqual(uploadMountsOf({ volumes }, env, '/opt/immich'), {
      targets: ['/a', '/b', '/d', '/f'],
      refused: [
        'the server\'s volume target "relative" is not an absolute path',
        'the server\'s volume target "/" is the container\'s root',
        'the server\'s volume target "/" is the container\'s root',
      ],
    });
  });

  test('no service or no volumes: nothing found', () => {
    assert.deepEqual(uploadMountsOf(undefined, env, '/opt'), { targets: [], refused: [] });
    assert.deepEqual(uploadMountsOf({ volumes: 'x' }, env, '/opt'), { targets: [], refused: [] });
  });
});
