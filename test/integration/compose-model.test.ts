import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { createProcessGateway } from '../../src/adapters/process.js';
import { composeResolved, resolvedProblems } from '../../src/restore/from-drive-compose-config.js';
import { dockerWithoutComposePlugin } from '../env/compose-bed.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

/**
 * restore --from-drive's last check before anything starts, against the real compose (v2, and
 * v1 on a docker CLI without the plugin): where compose reads a file otherwise than the agent's
 * own reading (a default with braces, which compose-go counts), compose's model shows the real
 * mount and the check names it. Only `config` runs: no container is made.
 */
describe("compose's own model of an app folder (real compose, config only)", () => {
  let sandbox: Sandbox;
  let appDir: string;
  let library: string;
  let withoutPlugin: string;
  before(async () => {
    sandbox = await createSandbox();
    appDir = sandbox.path('app $(touch PWNED)');
    library = sandbox.path('library');
    await mkdir(appDir, { recursive: true });
    // Reaches / through compose-go's brace counting; the agent's reading stops at the first `}`.
    const climb = '${S:-{x}}/..'.repeat(12);
    await writeFile(
      path.join(appDir, 'docker-compose.yml'),
      [
        'name: immich',
        'services:',
        '  immich-server:',
        '    container_name: immich_server',
        '    image: immich-server:v2',
        '    volumes:',
        `      - \${UPLOAD_LOCATION}${climb}:/host`,
        '  database:',
        '    container_name: immich_postgres',
        '    image: postgres:14',
        '    volumes:',
        '      - ${DB_DATA_LOCATION}:/var/lib/postgresql/data',
        '',
      ].join('\n'),
    );
    await writeFile(
      path.join(appDir, '.env'),
      `S='/'\nUPLOAD_LOCATION='${library}'\nDB_DATA_LOCATION='${appDir}/postgres'\n`,
    );
    withoutPlugin = await dockerWithoutComposePlugin(sandbox);
  });
  after(async () => {
    await sandbox?.dispose();
  });

  for (const flavour of ['v2', 'v1'] as const) {
    test(`compose ${flavour}: the mount compose would make is the one checked`, async () => {
      const savedPath = process.env.PATH;
      if (flavour === 'v1') process.env.PATH = `${withoutPlugin}:${savedPath ?? ''}`;
      try {
        const gateway = createProcessGateway({ logger: pino({ level: 'silent' }), secrets: [] });
        const env = new Map([
          ['S', '/'],
          ['UPLOAD_LOCATION', library],
          ['DB_DATA_LOCATION', `${appDir}/postgres`],
        ]);
        const project = {
          appDir,
          composeFile: 'docker-compose.yml',
          composeText: await readFile(path.join(appDir, 'docker-compose.yml'), 'utf8'),
          env,
        };
        const resolved = await composeResolved(gateway, flavour, project);
        const server = resolved.services.find((service) => service.name === 'immich-server');
        const source = server?.mounts[0]?.source ?? '';
        const problems = resolvedProblems(resolved, {
          project: 'immich',
          services: [
            {
              name: 'immich-server',
              containerName: 'immich_server',
              image: 'immich-server:v2',
              volumes: [],
            },
            {
              name: 'database',
              containerName: 'immich_postgres',
              image: 'postgres:14',
              volumes: [],
            },
          ],
          library,
          dbDataDir: `${appDir}/postgres`,
          serverContainer: 'immich_server',
          databaseContainer: 'immich_postgres',
        });
        if (path.resolve(source) === library) {
          // This compose reads the braces as the agent does: nothing to find, and nothing found.
          assert.deepEqual(problems, []);
        } else {
          assert.ok(
            problems.some((problem) => problem.startsWith('immich-server: mounts bind')),
            `${flavour} mounts ${source}: ${problems.join('; ')}`,
          );
        }
        // The database's folder, with the `$(…)` of its path, is read as it is (v2's `$$`).
        const database = resolved.services.find((service) => service.name === 'database');
        assert.equal(database?.mounts[0]?.source, `${appDir}/postgres`);
        if (flavour === 'v2') assert.notEqual(path.resolve(source), library, 'v2 counts braces');
      } finally {
        process.env.PATH = savedPath;
      }
    });
  }
});
