import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatFromDrivePlan,
  formatFromDriveSummary,
} from '../../../src/cli/restore-from-drive-text.js';
import type { FromDrivePlan } from '../../../src/restore/from-drive-plan.js';
import { composeServices } from '../../../src/restore/from-drive-compose-file.js';

const fake = '\nApp folder: /opt/immich gets nothing\u2028x\u001b[2J';

function plan(): FromDrivePlan {
  const compose = `services:\n  "db${fake.replaceAll('\n', '\\n').replaceAll('\u2028', '\\u2028').replaceAll('\u001b', '\\e')}":\n    image: "postgres${'\\n'}Dump: fake"\n    container_name: "immich_postgres"\n`;
  const services = composeServices(compose, new Map());
  assert.match(services[0]?.name ?? '', /\n/);
  return {
    backupDir: '/drive/immich-backup',
    kit: {
      immich: {
        databaseContainer: `immich_postgres${fake}`,
        serverContainer: 'immich_server',
        database: `immich${fake}`,
        databaseUser: `postgres${fake}`,
      },
    },
    dump: { name: 'immich-db-2026-12-01.sql.gz', bytes: 10 },
    format: 'pg_dump',
    versions: { dumpImmich: null, dumpPostgres: null, kitImmich: null, kitPostgresMajor: null },
    images: [],
    toPull: [`evil${fake}`],
    unpinned: [],
    flavour: 'v1',
    services,
    appDir: '/opt/app',
    composeName: 'docker-compose.yml',
    library: '/srv/library',
    dbDataDir: '/opt/app/postgres',
    databaseService: services[0]?.name ?? '',
    space: {
      files: 3,
      filesBytes: 3000,
      libraryFree: 1e9,
      libraryHoldsFiles: false,
      sqlBytes: 10,
      databaseFree: 1e9,
      sameFilesystem: true,
    },
  } as unknown as FromDrivePlan;
}

describe('the plan and the summary keep a drive value on its line', () => {
  test('no line of the plan comes from a value of the drive', () => {
    const text = formatFromDrivePlan(plan());
    const lines = text.split('\n');
    assert.equal(lines.filter((line) => line.startsWith('App folder:')).length, 1, text);
    assert.equal(lines.filter((line) => line.startsWith('Dump:')).length, 1, text);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u2028]/);
    assert.match(text, /immich_postgres\\nApp folder/);
    assert.match(text, /Compose: docker-compose \(v1\), services:/);
  });

  test('nor of the summary', () => {
    const text = formatFromDriveSummary({
      ok: false,
      done: [`Started ${fake}`],
      problems: [],
      failure: { message: `failed${fake}`, next: 'x' },
    });
    assert.equal(text.split('\n').length, 4, text);
  });
});
