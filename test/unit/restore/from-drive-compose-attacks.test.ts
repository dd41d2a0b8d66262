import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import pino from 'pino';
import { createProcessGateway } from '../../../src/adapters/process.js';
import { formatFromDrivePlan } from '../../../src/cli/restore-from-drive-text.js';
import { composeCommand, composeProjectName } from '../../../src/restore/from-drive-compose.js';
import { normalizeProjectName } from '../../../src/restore/from-drive-compose-rules.js';
import type { ErrorCode } from '../../../src/errors.js';
import { repoRoot } from '../../env/cli.js';
import {
  compose,
  plan,
  projectResources,
  refusedWith,
  where,
  withBackup,
  writeBackup,
} from './from-drive-plan-fixture.js';

withBackup('attacks');

const fixtures = path.join(repoRoot, 'test/fixtures/immich');
const server = (lines: string) =>
  `${compose}  immich-server:\n    container_name: immich_server\n    image: ghcr.io/immich-app/immich-server:v2.7.5\n${lines}`;
let count = 0;

/** A backup whose compose file is `text` (and .env has `env` added): its plan's refusal. */
async function refused(
  text: string,
  code: ErrorCode = 'RESTORE_FAILED',
  env = '',
): Promise<string> {
  const folder = path.join(where.root, `attack-${(count += 1)}`, 'immich-backup');
  await writeBackup(folder, 'v2.7.5', text);
  if (env !== '')
    await writeFile(path.join(folder, '.env'), `DB_CONTAINER=immich_postgres\n${env}`);
  return refusedWith(code, plan({ backupDir: folder }));
}

describe('restore --from-drive: attacks through the compose file and .env are refused', () => {
  test('a service key Immich does not use is refused by its name (an allowlist)', async () => {
    for (const key of [
      'use_api_socket: true',
      'provider: { type: model }',
      'post_start: [{ command: [sh, -c, "rm -rf /host"] }]',
      'pre_stop: [{ command: [sh] }]',
      'gpus: all',
      'deploy: { resources: {} }',
      'label_file: /etc/shadow',
      'runtime: runc',
      'logging: { driver: syslog }',
      'oom_score_adj: -1000',
      'sysctls: { net.ipv4.ip_forward: 1 }',
      'privileged: true',
      'extends: { file: other.yml, service: x }',
      'network_mode: host',
      'pid: host',
    ]) {
      const message = await refused(server(`    ${key}\n`));
      assert.match(message, new RegExp(`immich-server: ${key.split(':')[0]}`), key);
    }
  });

  test('top-level keys other than name, services, volumes, networks (declared empty) are refused', async () => {
    for (const [lines, said] of [
      ['models:\n  m:\n    model: x\n', 'top-level models'],
      ['include:\n  - other.yml\n', 'top-level include'],
      ['configs:\n  c:\n    file: /etc/shadow\n', 'top-level configs'],
      ['secrets:\n  s:\n    file: /etc/shadow\n', 'top-level secrets'],
      ['networks:\n  n:\n    ipam: { config: [] }\n', 'network n is configured'],
      ['networks:\n  n:\n    enable_ipv6: true\n', 'network n is configured'],
      ['networks:\n  n:\n    internal: true\n', 'network n is configured'],
      ['networks:\n  n:\n    driver: macvlan\n', 'network n is configured'],
      ['volumes:\n  v:\n    external: true\n', 'volume v is configured'],
      [
        '    networks:\n      default:\n        ipv4_address: 172.17.0.1\nnetworks:\n  default:\n',
        'database: the network default is configured',
      ],
      ['volumes:\n  v:\n    driver_opts: { device: / }\n', 'volume v is configured'],
    ] as const) {
      assert.match(await refused(`${compose}${lines}`), new RegExp(said), lines);
    }
    assert.match(await refused(compose.replace('name: immich', 'name: 123')), /name that is not/);
  });

  test('explicit YAML tags, duplicate keys and other parse problems are refused first', async () => {
    for (const text of [
      server('    ports: !reset []\n'),
      server('    volumes: !override\n      - /:/host\n'),
      server('    labels: { a: !!binary aGk= }\n'),
      server('    hostname: !x y\n'),
      server('    hostname: a\n    hostname: b\n'),
      `${compose}  [a: b\n`,
    ]) {
      assert.match(await refused(text, 'NO_BACKUP'), /not plain YAML/, text);
    }
  });

  test('a variable .env does not define is refused, anywhere in the file', async () => {
    for (const text of [
      server('    volumes:\n      - ${HOME}/.ssh:/keys\n'),
      server('    environment:\n      A: $PATH\n'),
      `x-anchor: \${NOPE}\n${compose}`,
      server('    volumes:\n      - ${DB_PASSWORD:+/}:/host\n'),
    ]) {
      assert.match(await refused(text), /does not define|does not read/, text);
    }
  });

  test('a long-syntax volume whose type is interpolated to bind goes through the host rules', async () => {
    const bind = '    volumes:\n      - type: ${KIND}\n        source: ../..\n        target: /x\n';
    assert.match(await refused(server(bind), undefined, 'KIND=bind\n'), /mounts /);
    const volume =
      '    volumes:\n      - type: volume\n        source: data\n        target: /x\n        volume: { nocopy: true }\n';
    assert.match(await refused(server(volume)), /a volume's volume/);
    const relative =
      '    volumes:\n      - type: bind\n        source: ./postgres/../elsewhere\n        target: /x\n';
    assert.match(await refused(server(relative)), /mounts .*elsewhere/);
    const propagation = '    volumes:\n      - ${UPLOAD_LOCATION}:/data:rshared\n';
    assert.match(await refused(server(propagation)), /options rshared/);
  });

  test('ports on any service but the server are refused; two services with a kit container too', async () => {
    const redis = '  redis:\n    image: valkey\n    ports: ["6379:6379"]\n';
    assert.match(await refused(`${server('')}${redis}`), /redis: ports/);
    const twice = '  other:\n    container_name: immich_postgres\n    image: x\n';
    assert.match(
      await refused(`${server('')}${twice}`),
      /database, other all name immich_postgres/,
    );
    const servers = '  other:\n    container_name: immich_server\n    image: x\n';
    assert.match(await refused(`${server('')}${servers}`), /all name immich_server/);
  });

  test("Immich's own compose file and example .env are accepted; every mount is in the plan", async () => {
    const folder = path.join(where.root, 'immich-own', 'immich-backup');
    const text = await readFile(path.join(fixtures, 'immich-docker-compose.yml'), 'utf8');
    await writeBackup(
      folder,
      'v2.7.5',
      text.replace(
        '\nvolumes:\n',
        '  anonymous:\n    image: x\n    volumes: [/scratch]\n\nvolumes:\n',
      ),
    );
    await writeFile(
      path.join(folder, '.env'),
      await readFile(path.join(fixtures, 'immich-example.env'), 'utf8'),
    );
    const result = await plan({ backupDir: folder });
    assert.equal(result.serverService, 'immich-server');
    const shown = formatFromDrivePlan(result);
    assert.match(shown, /anonymous: x, mounts \(anonymous\) → \/scratch/);
    assert.match(shown, /immich-machine-learning: .*mounts model-cache → \/cache/);
    assert.doesNotMatch(shown, /\(no image\)/);
  });

  test('a volume or network of the project already here is refused (compose would take it over)', async () => {
    for (const kind of ['volume', 'network'] as const) {
      projectResources[kind].add('immich_model-cache');
      try {
        const message = await refusedWith('RESTORE_FAILED', plan());
        assert.match(message, new RegExp(`already has the ${kind} immich_model-cache`));
      } finally {
        projectResources[kind].delete('immich_model-cache');
      }
    }
    assert.equal((await plan()).databaseService, 'database');
  });

  test("the project name is compose-go's, and compose runs in the app dir (v1 and v2)", () => {
    assert.equal(normalizeProjectName('_-My.Immich_2'), 'myimmich_2');
    assert.equal(composeProjectName('name: "-Immich"\n', new Map(), '/x'), 'immich');
    assert.equal(composeProjectName('services: {}\n', new Map(), '/opt/__Photos'), 'photos');
    const project = {
      appDir: '/opt/app',
      composeFile: 'c.yml',
      composeText: compose,
      env: new Map(),
    };
    for (const flavour of ['v1', 'v2'] as const)
      assert.equal(composeCommand(flavour, project, ['up']).cwd, '/opt/app', flavour);
  });

  test('the process gateway runs a command in the cwd it is given', async () => {
    const gateway = createProcessGateway({ logger: pino({ level: 'silent' }), secrets: [] });
    const request = { tool: 'pwd', file: 'pwd', args: [], timeoutMs: 10_000 };
    const result = await gateway.run({ ...request, cwd: where.root });
    assert.equal(result.stdout.trim(), where.root);
  });
});
