import assert from 'node:assert/strict';
import { mkdir, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { formatFromDrivePlan } from '../../../src/cli/restore-from-drive-text.js';
import {
  compose,
  containers,
  engine,
  hex,
  plan,
  projectContainers,
  refusedWith,
  where,
  withBackup,
  writeBackup,
} from './from-drive-plan-fixture.js';

withBackup('refusals');

describe('restore --from-drive: the plan refuses what would reach beyond the new install', () => {
  test('no compose on this machine: refused in the plan, before anything is written', async () => {
    engine.composeFound = false;
    try {
      const appDir = path.join(where.root, 'no-compose', 'app');
      const message = await refusedWith('TOOL_MISSING', plan({ appDir }));
      assert.match(message, /Neither `docker compose` nor `docker-compose`/);
      await assert.rejects(stat(appDir));
    } finally {
      engine.composeFound = true;
    }
    assert.equal((await plan()).flavour, 'v2');
  });

  test('an app dir reached through a link to a system folder is refused (its real path)', async () => {
    const link = path.join(where.root, 'etc-link');
    await symlink('/etc', link);
    const message = await refusedWith(
      'CONFIG_INVALID',
      plan({ appDir: path.join(link, 'immich') }),
    );
    assert.match(message, /app folder .* by its real path/);
    const toDrive = path.join(where.root, 'drive-link');
    await symlink(where.backupDir, toDrive);
    await refusedWith('CONFIG_INVALID', plan({ appDir: path.join(toDrive, 'app') }));
  });

  test('a library and an app folder that overlap are refused; <app>/library is fine', async () => {
    const appDir = path.join(where.root, 'overlap', 'app');
    await refusedWith('CONFIG_INVALID', plan({ appDir, library: appDir }));
    await refusedWith('CONFIG_INVALID', plan({ appDir, library: path.dirname(appDir) }));
    await refusedWith(
      'CONFIG_INVALID',
      plan({ appDir, library: path.join(appDir, 'postgres', 'l') }),
    );
    // By real paths: a link to the app folder given as the library.
    await mkdir(appDir, { recursive: true });
    await symlink(appDir, path.join(where.root, 'overlap', 'lib-link'));
    await refusedWith(
      'CONFIG_INVALID',
      plan({ appDir, library: path.join(where.root, 'overlap', 'lib-link') }),
    );
    const result = await plan({ appDir, library: path.join(appDir, 'library') });
    assert.equal(result.library, path.join(appDir, 'library'));
  });

  test('another Immich here (a container of the same name) is refused with what to do', async () => {
    containers.add('immich_postgres');
    try {
      const message = await refusedWith('RESTORE_FAILED', plan());
      assert.match(
        message,
        /already has the container immich_postgres.*docker rm -f immich_postgres/,
      );
    } finally {
      containers.delete('immich_postgres');
    }
    // One compose named itself (no container_name): found by its project's label.
    projectContainers.add('immich-redis-1');
    try {
      const message = await refusedWith('RESTORE_FAILED', plan());
      assert.match(message, /already has the container immich-redis-1/);
    } finally {
      projectContainers.delete('immich-redis-1');
    }
  });

  test('a database service on a named volume (or not on DB_DATA_LOCATION) is refused', async () => {
    for (const [index, volumes] of [
      '      - pgdata:/var/lib/postgresql/data\n',
      '      - ${DB_DATA_LOCATION}:/var/lib/postgresql/data\n      - other:/srv\n',
      '      - /srv/old-postgres:/var/lib/postgresql/data\n',
      '      []\n',
    ].entries()) {
      const folder = path.join(where.root, `volume-${index}`, 'immich-backup');
      await writeBackup(
        folder,
        'v2.7.5',
        compose.replace(/ {6}- \$\{DB_DATA_LOCATION\}.*\n/, volumes),
      );
      const message = await refusedWith('RESTORE_FAILED', plan({ backupDir: folder }));
      assert.match(message, /does not keep its data only in \$\{DB_DATA_LOCATION\}/);
    }
  });

  test("a digest-pinned image of the kit's is unpinned in the file written, and not said to be pulled", async () => {
    const folder = path.join(where.root, 'pinned', 'immich-backup');
    const pinned = `ghcr.io/immich-app/postgres:14@sha256:${hex('f')}`;
    await writeBackup(
      folder,
      'v2.7.5',
      compose.replace('image: postgres', `image: ${pinned} # pinned`),
    );
    const result = await plan({ backupDir: folder });
    assert.deepEqual(result.unpinned, ['database']);
    assert.match(result.composeText, /image: ghcr\.io\/immich-app\/postgres:14 # pinned\n/);
    assert.doesNotMatch(result.composeText, /@sha256/);
    assert.deepEqual(result.toPull, []);
    assert.equal(result.services[0]?.image, 'ghcr.io/immich-app/postgres:14');
  });

  test('a compose file asking for more than Immich does is refused; Immich-like mounts are not', async () => {
    const server = (lines: string) =>
      `${compose}  immich-server:\n    image: ghcr.io/immich-app/immich-server:v2.7.5\n${lines}`;
    const refused = [
      '    privileged: true\n',
      '    network_mode: host\n',
      '    cap_add: [SYS_ADMIN]\n',
      '    env_file: [/etc/shadow]\n',
      '    volumes:\n      - /:/host\n',
      '    volumes:\n      - /etc/localtime:/etc/localtime\n',
      '    volumes:\n      - type: bind\n        source: ../elsewhere\n        target: /x\n',
      '    volumes:\n      - data:/x\nvolumes:\n  data:\n    driver_opts: { type: none, o: bind, device: / }\n',
      '    <<: { pid: host }\n',
      '    cgroup: host\n',
      '    networks: [other]\nnetworks:\n  other:\n    external: true\n',
      '    volumes:\n      - ${DB_PASSWORD:+/}:/host\n',
      '    volumes:\n      - ${NOPE:-${DB_DATA_LOCATION}/..}:/host\n',
    ];
    for (const [index, lines] of refused.entries()) {
      const folder = path.join(where.root, `beyond-${index}`, 'immich-backup');
      await writeBackup(folder, 'v2.7.5', server(lines));
      const message = await refusedWith('RESTORE_FAILED', plan({ backupDir: folder }));
      assert.match(message, /asks for more than Immich's own/, lines);
    }
    const folder = path.join(where.root, 'immich-like', 'immich-backup');
    await writeBackup(
      folder,
      'v2.7.5',
      server(
        '    env_file: [.env]\n    volumes:\n      - ${UPLOAD_LOCATION}:/data\n      - /etc/localtime:/etc/localtime:ro\n      - model-cache:/cache\nvolumes:\n  model-cache:\n',
      ),
    );
    const result = await plan({ backupDir: folder });
    const text = formatFromDrivePlan(result);
    assert.match(
      text,
      new RegExp(
        `immich-server: .*mounts ${result.library.replace(/[$()]/g, '\\$&')} → /data, /etc/localtime → /etc/localtime, model-cache → /cache`,
      ),
    );
  });
});
