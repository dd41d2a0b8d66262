import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  composeResolved,
  resolvedProblems,
  type ResolvedProject,
} from '../../../src/restore/from-drive-compose-config.js';
import type { ProcessGateway } from '../../../src/adapters/process.js';
import {
  compose,
  plan,
  refusedWith,
  where,
  withBackup,
  writeBackup,
} from './from-drive-plan-fixture.js';

withBackup('resolved');

let count = 0;
async function refusedCompose(text: string): Promise<string> {
  const folder = path.join(where.root, `resolved-${(count += 1)}`, 'immich-backup');
  await writeBackup(folder, 'v2.7.5', text);
  return refusedWith('RESTORE_FAILED', plan({ backupDir: folder }));
}

const server = (lines: string) =>
  `${compose}  immich-server:\n    container_name: immich_server\n    image: ghcr.io/immich-app/immich-server:v2.7.5\n${lines}`;

describe("restore --from-drive: the agent's reading and compose's own model", () => {
  test('a default with braces (compose-go counts them) is refused', async () => {
    const message = await refusedCompose(
      server('    volumes:\n      - ${UPLOAD_LOCATION}${DB_PASSWORD:-{x}}/..:/data\n'),
    );
    assert.match(message, /an interpolation the agent does not read/);
  });

  test('a quoted "<<" key (a merge once written for compose v1) is refused', async () => {
    assert.match(
      await refusedCompose(server('    environment:\n      "<<": { A: "1" }\n')),
      /a "<<" key that is not a merge/,
    );
  });

  test('a named volume must be one the file declares; the database never mounts the library', async () => {
    assert.match(
      await refusedCompose(server('    volumes:\n      - model-cache:/cache\n')),
      /the volume model-cache, not one the file declares/,
    );
    assert.match(
      await refusedCompose(
        compose.replace(
          '      - ${DB_DATA_LOCATION}:/var/lib/postgresql/data\n',
          '      - ${DB_DATA_LOCATION}:/var/lib/postgresql/data\n      - ${UPLOAD_LOCATION}:/srv\n',
        ),
      ),
      /does not keep its data only in \$\{DB_DATA_LOCATION\} .*library → \/srv/,
    );
    // Declared, it is Immich's machine learning cache: fine.
    const folder = path.join(where.root, 'declared', 'immich-backup');
    await writeBackup(
      folder,
      'v2.7.5',
      `${server('    volumes:\n      - model-cache:/cache\n      - ${UPLOAD_LOCATION}:/data\n')}volumes:\n  model-cache:\n`,
    );
    const planned = await plan({ backupDir: folder });
    assert.equal(planned.services.length, 2);
  });

  const expected = {
    project: 'immich',
    services: [
      { name: 'database', containerName: 'immich_postgres', image: 'postgres:14', volumes: [] },
      { name: 'server', containerName: 'immich_server', image: 'immich-server:v2', volumes: [] },
    ],
    library: '/srv/library',
    dbDataDir: '/opt/app/postgres',
    serverContainer: 'immich_server',
    databaseContainer: 'immich_postgres',
  };
  const model = (overrides: Partial<ResolvedProject> = {}): ResolvedProject => ({
    name: 'immich',
    services: [
      {
        name: 'database',
        containerName: 'immich_postgres',
        image: 'postgres:14',
        mounts: [
          { type: 'bind', source: '/opt/app/postgres', target: '/var/lib/x', readOnly: false },
        ],
        ports: false,
        hostAccess: [],
      },
      {
        name: 'server',
        containerName: 'immich_server',
        image: 'immich-server:v2',
        mounts: [
          { type: 'bind', source: '/srv/library', target: '/data', readOnly: false },
          { type: 'bind', source: '/etc/localtime', target: '/etc/localtime', readOnly: true },
          { type: 'volume', source: 'cache', target: '/cache', readOnly: false },
        ],
        ports: false,
        hostAccess: [],
      },
    ],
    drivenVolumes: [],
    hostFiles: [],
    ...overrides,
  });

  test("Immich's model passes; every difference from the checked reading is named", () => {
    assert.deepEqual(resolvedProblems(model(), expected), []);
    const [database, server] = model().services as [
      ResolvedProject['services'][number],
      ResolvedProject['services'][number],
    ];
    const bad = model({
      name: 'otherapp',
      services: [
        {
          ...database,
          mounts: [{ type: 'bind', source: '/srv/library', target: '/x', readOnly: false }],
        },
        {
          ...server,
          image: 'evil',
          hostAccess: ['privileged'],
          mounts: [
            { type: 'bind', source: '/srv/library//..//..', target: '/data', readOnly: false },
            { type: 'bind', source: '/etc/localtime', target: '/etc/localtime', readOnly: false },
            { type: 'npipe', source: '', target: '/x', readOnly: false },
          ],
        },
        { ...server, name: 'pwn', containerName: null },
      ],
      drivenVolumes: ['cache'],
      hostFiles: ['secrets'],
    });
    const found = resolvedProblems(bad, expected).join('\n');
    for (const expectedProblem of [
      /the project is otherapp, not immich/,
      /database: mounts bind \/srv\/library/,
      /server: the image evil/,
      /server: privileged/,
      /server: mounts bind \/srv\/library\/\/\.\.\/\/\.\./,
      /server: mounts bind \/etc\/localtime/,
      /server: mounts npipe/,
      /a service pwn the agent did not read/,
      /the volume cache has a driver/,
      /top-level secrets/,
    ])
      assert.match(found, expectedProblem);
    // The database: no port, no named volume, no bind option.
    const database2 = model({
      services: [
        {
          ...database,
          ports: true,
          mounts: [
            { type: 'volume', source: 'other_pgdata', target: '/x', readOnly: false },
            {
              type: 'bind',
              source: '/opt/app/postgres',
              target: '/var/lib/x',
              readOnly: false,
              bindOptions: ['propagation'],
            },
          ],
        },
        server,
      ],
    });
    const found2 = resolvedProblems(database2, expected).join('\n');
    assert.match(found2, /database: ports/);
    assert.match(found2, /database: the volume other_pgdata/);
    assert.match(found2, /database: a bind's propagation/);
  });

  test("compose's model is read from `config` (v2 JSON, v1 YAML with short mounts)", async () => {
    const answers = {
      v2: JSON.stringify({
        name: 'immich',
        services: {
          server: {
            container_name: 'immich_server',
            image: 'immich-server:v2',
            privileged: true,
            volumes: [
              { type: 'bind', source: '/', target: '/host', read_only: true },
              { type: 'bind', source: '/srv/a $$(x) $$$$HOME', target: '/data' },
            ],
          },
        },
        volumes: {
          cache: { driver_opts: { type: 'none', o: 'bind', device: '/' } },
          theirs: { name: 'otherapp_pgdata', external: true },
          mine: { name: 'immich_mine' },
        },
        secrets: { s: { file: '/etc/shadow' } },
      }),
      v1: 'services:\n  server:\n    container_name: immich_server\n    image: immich-server:v2\n    cap_add: [SYS_ADMIN]\n    volumes:\n    - /etc:/x:ro\n    - cache:/cache:rw\n',
    };
    for (const flavour of ['v2', 'v1'] as const) {
      const asked: string[][] = [];
      const gateway = {
        run: (request: { args: string[] }) => {
          asked.push(request.args);
          return Promise.resolve({ exitCode: 0, stdout: answers[flavour], stderr: '' });
        },
      } as unknown as ProcessGateway;
      const project = {
        appDir: '/opt/app',
        composeFile: 'docker-compose.yml',
        composeText: 'services: {}\n',
        env: new Map(),
      };
      const resolved = await composeResolved(gateway, flavour, project);
      assert.ok(asked[0]?.includes('config'));
      const [service] = resolved.services;
      if (flavour === 'v2') {
        assert.equal(resolved.name, 'immich');
        assert.deepEqual(service?.mounts, [
          { type: 'bind', source: '/', target: '/host', readOnly: true, bindOptions: [] },
          // v2 writes a `$` of a value as `$$`: read back as the value.
          {
            type: 'bind',
            source: '/srv/a $(x) $$HOME',
            target: '/data',
            readOnly: false,
            bindOptions: [],
          },
        ]);
        assert.deepEqual(service?.hostAccess, ['privileged']);
        assert.deepEqual(resolved.drivenVolumes, ['cache', 'theirs']);
        assert.deepEqual(resolved.hostFiles, ['secrets']);
      } else {
        assert.equal(resolved.name, null);
        assert.deepEqual(service?.mounts, [
          { type: 'bind', source: '/etc', target: '/x', readOnly: true },
          { type: 'volume', source: 'cache', target: '/cache', readOnly: false },
        ]);
        assert.deepEqual(service?.hostAccess, ['cap_add']);
      }
    }
  });
});
