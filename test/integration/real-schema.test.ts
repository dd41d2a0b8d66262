import assert from 'node:assert/strict';
import { copyFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { waitForDatabaseServer } from '../../src/adapters/database-info.js';
import { createDockerAdapter } from '../../src/adapters/docker.js';
import { localDate } from '../../src/format.js';
import { olderPostgresImage, psql, startDatabase, waitForPostgres } from '../env/containers.js';
import { createImmichBed, type ImmichBed } from '../env/immich-bed.js';
import {
  databaseSnapshot,
  diffSnapshots,
  fingerprint,
  restoreIntoFreshContainer,
  searchPathLine,
  type DatabaseSnapshot,
} from '../env/immich-database.js';
import { isMountPoint, withDriveMounted } from '../env/inspect.js';
import { createSandbox, type Sandbox } from '../env/sandbox.js';

/** What the container says about its server at one moment of its start-up. */
interface Observation {
  /** pg_isready on the socket, for the database, as a drill asks it. */
  isReady: boolean;
  /** The postmaster's pid from postmaster.pid: 1 is the real server, the entry point exec'd it. */
  postmasterPid: string;
  /** Does the database exist yet ('?' when nothing answered)? */
  databaseExists: string;
  /** Does anything answer on TCP 127.0.0.1 (the temporary server listens on the socket only)? */
  tcp: boolean;
}

const observe = `
pg_isready -q -U postgres -d immich; ready=$?
pid=$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null || true)
exists=$(psql -X -q -A -t -U postgres -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'immich'" 2>/dev/null || echo '?')
pg_isready -q -h 127.0.0.1 -U postgres; tcp=$?
echo "$ready \${pid:-none} $exists $tcp"`;

async function observeStartUp(container: string): Promise<Observation[]> {
  const seen: Observation[] = [];
  for (let attempt = 0; attempt < 600; attempt += 1) {
    const result = await execa('docker', ['exec', container, 'sh', '-c', observe], {
      reject: false,
    });
    const [ready, pid, exists, tcp] = result.stdout.trim().split(' ');
    const observation = {
      isReady: ready === '0',
      postmasterPid: pid ?? 'none',
      databaseExists: exists ?? '?',
      tcp: tcp === '0',
    };
    seen.push(observation);
    if (observation.postmasterPid === '1' && observation.tcp) return seen;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the real server never came up: ${JSON.stringify(seen.slice(-5))}`);
}

describe('the database image starts like the official postgres image', () => {
  let sandbox: Sandbox;

  before(async () => {
    sandbox = await createSandbox();
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('pg_isready answers while only the temporary init server runs, and a session opened then fails', async (t) => {
    const container = await startDatabase(sandbox, 'start-up', { wait: false });
    // A drill that trusts pg_isready connects at the first "ready", when the database may not
    // exist yet (pg_isready says yes to a missing database), and its session must last the
    // restore, but the temporary server stops under it once the init scripts are done.
    let firstReady = false;
    for (let attempt = 0; attempt < 600 && !firstReady; attempt += 1) {
      const ready = await execa(
        'docker',
        ['exec', container, 'pg_isready', '-q', '-U', 'postgres', '-d', 'immich'],
        { reject: false },
      );
      firstReady = ready.exitCode === 0;
      if (!firstReady) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(firstReady, 'pg_isready answered at some point');
    const longSession = execa(
      'docker',
      [
        'exec',
        container,
        'psql',
        '-X',
        '-U',
        'postgres',
        '-d',
        'immich',
        '-c',
        'SELECT pg_sleep(30)',
      ],
      { reject: false },
    );
    const seen = await observeStartUp(container);
    const session = await longSession;
    const window = seen.filter((entry) => entry.isReady && entry.postmasterPid !== '1');
    assert.ok(
      window.length >= 3,
      `pg_isready answered before the real server ran, several times: ${JSON.stringify(seen)}`,
    );
    assert.ok(
      window.every((entry) => !entry.tcp),
      'the temporary server listens on the socket only',
    );
    if (window.some((entry) => entry.databaseExists === '0'))
      t.diagnostic('seen: pg_isready said yes while the database did not exist yet');
    // Either the database was not created yet, or the temporary server stopped under the session.
    assert.notEqual(session.exitCode, 0, 'the session opened at the first "ready" did not survive');
    assert.match(
      session.stderr,
      /database "immich" does not exist|terminating connection|server closed the connection/,
    );

    // pg_isready never looks at the database it is given.
    const missing = await execa(
      'docker',
      ['exec', container, 'pg_isready', '-U', 'postgres', '-d', 'no such database'],
      { reject: false },
    );
    assert.equal(missing.exitCode, 0, 'pg_isready says yes for a database that does not exist');

    // And waitForPostgres waits for the real one.
    await waitForPostgres(container, 'postgres', 'immich');
    assert.equal(
      (
        await execa('docker', [
          'exec',
          container,
          'head',
          '-n',
          '1',
          '/var/lib/postgresql/data/postmaster.pid',
        ])
      ).stdout,
      '1',
      'PostgreSQL is PID 1',
    );
    const logs = (await execa('docker', ['logs', container], { all: true })).all ?? '';
    assert.match(logs, /sourcing \/docker-entrypoint-initdb\.d\/00-init-work\.sh/);
    assert.match(logs, /PostgreSQL init process complete; ready for start up\./);
  });

  test('the agent’s readiness check returns only once the real server runs, with the database in it', async () => {
    const container = await startDatabase(sandbox, 'readiness', { wait: false });
    const docker = createDockerAdapter();
    const ready = await waitForDatabaseServer(docker, container, {
      user: 'postgres',
      database: 'immich',
      timeoutMs: 120_000,
    });
    assert.equal(ready, true);
    // Asked at once: the server that answered is the one that stays.
    const [pid, exists] = (
      await execa('docker', [
        'exec',
        container,
        'sh',
        '-c',
        `head -n 1 "$PGDATA/postmaster.pid"; psql -X -A -t -U postgres -d immich -c 'SELECT 1'`,
      ])
    ).stdout.split('\n');
    assert.equal(pid, '1', 'the postmaster is the container’s main process, not the init server');
    assert.equal(exists, '1', 'the database exists');
  });

  test('the server has the official configuration: every address, checksums, trusted socket, scram for other hosts', async () => {
    const container = await startDatabase(sandbox, 'configuration', { initSeconds: 0 });
    assert.equal(await psql(container, 'SHOW listen_addresses'), '*');
    assert.equal(
      await psql(container, 'SHOW data_checksums'),
      'on',
      "Immich's POSTGRES_INITDB_ARGS",
    );
    assert.equal(await psql(container, 'SHOW server_encoding'), 'UTF8');
    const rules = await psql(
      container,
      `SELECT type || ' ' || array_to_string(database, ',') || ' ' || coalesce(address, '') || ' ' || auth_method FROM pg_hba_file_rules ORDER BY rule_number`,
    );
    assert.match(rules, /^local all {2}trust$/m);
    assert.match(rules, /^host all 127\.0\.0\.1 trust$/m);
    assert.match(rules, /^host all all scram-sha-256$/m);
    const { stdout: stopSignal } = await execa('docker', [
      'inspect',
      '--format',
      '{{.Config.StopSignal}}',
      container,
    ]);
    assert.equal(stopSignal, 'SIGINT');

    // A second start finds the data and skips initialisation.
    await execa('docker', ['restart', container]);
    await waitForPostgres(container, 'postgres', 'immich');
    const logs = (await execa('docker', ['logs', container], { all: true })).all ?? '';
    assert.match(logs, /received fast shutdown request/, 'docker stop sent SIGINT');
    assert.match(logs, /appears to contain a database; Skipping initialization/);
  });
});

describe('the agent’s backup of Immich’s real schema, restored the documented way', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  let original: DatabaseSnapshot;
  let dumpFile: string;
  let restoredContainer: string;

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 5 });
    original = await databaseSnapshot(bed.database);
    await bed.writeConfig();
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    dumpFile = sandbox.path('dump.sql.gz');
    await withDriveMounted(sandbox, bed.drive, (driveRoot) =>
      copyFile(
        path.join(driveRoot, 'immich-backup', `immich-db-${localDate(new Date())}.sql.gz`),
        dumpFile,
      ),
    );
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('the bed holds Immich’s real schema with rows in every main table', () => {
    assert.ok(Object.keys(original.tables).length >= 61, 'all of Immich’s tables');
    for (const table of [
      'asset',
      'asset_exif',
      'asset_file',
      'album',
      'album_asset',
      'album_user',
      'person',
      'asset_face',
      'face_search',
      'smart_search',
      'tag',
      'tag_asset',
      'tag_closure',
      'memory',
      'memory_asset',
      'shared_link',
      'shared_link_asset',
      'library',
      'user',
      'asset_audit',
    ])
      assert.ok((original.tables[`public.${table}`]?.rows ?? 0) > 0, `${table} has rows`);
    assert.equal(original.tables['public.asset']?.rows, 2000);
    for (const extension of ['vector', 'cube', 'earthdistance', 'pg_trgm', 'unaccent', 'uuid-ossp'])
      assert.ok(original.extensions[extension], `extension ${extension}`);
    assert.equal(
      original.nearestNeighbour.clip_index?.used,
      true,
      'the CLIP search uses its HNSW index',
    );
  });

  test('comes back identical, table by table, with the public schema, the HNSW index and the search_path line in an album', async (t) => {
    const { container } = await restoreIntoFreshContainer(sandbox, dumpFile);
    restoredContainer = container;
    const restored = await databaseSnapshot(container);
    // pg_dump of one database does not carry ALTER DATABASE … SET (Immich's search_path, which
    // matters for pgvecto.rs's "vectors" schema only): reported, not failed.
    const differences = diffSnapshots(original, restored);
    const expected = differences.filter((line) => line.startsWith('database setting '));
    for (const line of expected) t.diagnostic(`not carried by pg_dump: ${line}`);
    assert.deepEqual(
      differences.filter((line) => !expected.includes(line)),
      [],
      'the restored database differs',
    );
    assert.equal(
      restored.nearestNeighbour.clip_index?.used,
      true,
      restored.nearestNeighbour.clip_index?.plan,
    );
    assert.deepEqual(restored.publicSchema, original.publicSchema);
    const description = await psql(
      container,
      `SELECT description FROM album WHERE id = md5('album:1')::uuid`,
    );
    assert.ok(
      description.split('\n').includes(searchPathLine),
      `the album description keeps pg_dump's header line: ${description}`,
    );
  });

  test('Immich’s documented sed, having no anchors, also rewrites that line inside the album description', async () => {
    const { container } = await restoreIntoFreshContainer(sandbox, dumpFile, { sed: 'documented' });
    const differences = diffSnapshots(original, await databaseSnapshot(container), {
      ignore: ['databaseSettings'],
    });
    assert.deepEqual(differences, [
      'table public.album has its 21 rows, but their content differs',
    ]);
    const description = await psql(
      container,
      `SELECT description FROM album WHERE id = md5('album:1')::uuid`,
    );
    assert.match(description, /set_config\('search_path', 'public, pg_catalog', true\)/);
  });

  test('the comparison names each kind of difference it is there to catch', async () => {
    assert.ok(restoredContainer, 'the restore above ran');
    await psql(
      restoredContainer,
      `UPDATE asset_exif SET description = description || ' ' WHERE "assetId" = md5('asset:3')::uuid;
       DELETE FROM tag_asset WHERE "assetId" IN (SELECT "assetId" FROM tag_asset ORDER BY 1 LIMIT 1);
       SELECT setval('audit_id_seq', 41);
       DROP INDEX clip_index;
       ALTER SCHEMA public OWNER TO postgres;
       COMMENT ON SCHEMA public IS NULL;
       CREATE SCHEMA extra;
       CREATE TABLE extra.note (text text);`,
    );
    const differences = diffSnapshots(original, await databaseSnapshot(restoredContainer), {
      ignore: ['databaseSettings'],
    });
    const expected = [
      'table public.asset_exif has its 2000 rows, but their content differs',
      `table public.tag_asset has ${(original.tables['public.tag_asset']?.rows ?? 0) - 1} rows instead of ${original.tables['public.tag_asset']?.rows}`,
      'table extra.note is new',
      'sequence public.audit_id_seq is at 41 (called: true) instead of 3 (called: true)',
      'HNSW index clip_index is missing',
      "schema public's owner is postgres instead of pg_database_owner",
      "schema public's comment is null instead of standard public schema",
    ];
    for (const line of expected)
      assert.ok(differences.includes(line), `${line}\nin\n${differences.join('\n')}`);
    assert.ok(
      differences.some(
        (line) =>
          line.startsWith('the schema differs:') && line.includes('- CREATE INDEX clip_index'),
      ),
      differences.join('\n'),
    );
  });
});

describe('the agent’s own restore and drill of Immich’s real schema, on the official start-up', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  let original: DatabaseSnapshot;

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 5 });
    original = await databaseSnapshot(bed.database);
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('verify --drill restores into a fresh container of the image only once its real server runs', async () => {
    // The image's init takes seconds, with pg_isready answering its temporary server throughout.
    const result = await bed.run('verify', '--drill', '--json');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    const report = JSON.parse(result.stdout) as { drill: { tables: Record<string, number> } };
    assert.deepEqual(report.drill.tables, {
      album: original.tables['public.album']?.rows,
      asset: original.tables['public.asset']?.rows,
      user: original.tables['public.user']?.rows,
    });
  });

  test('restore --yes puts back every table, the public schema as it was, and user data holding pg_dump’s own lines', async () => {
    await psql(
      bed.database,
      `DELETE FROM album_asset; DELETE FROM stack; DELETE FROM asset WHERE "fileCreatedAt" > '2024-01-20';
       UPDATE album SET description = 'lost' WHERE id = md5('album:1')::uuid;
       CREATE TABLE public.stray (id int);`,
    );
    const result = await bed.run('restore', '--database-only', '--yes');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    const restored = await databaseSnapshot(bed.database);
    assert.deepEqual(diffSnapshots(original, restored), [], 'identical, database settings too');
    assert.deepEqual(restored.publicSchema, original.publicSchema);
    assert.match(
      JSON.stringify(restored.publicSchema),
      /pg_database_owner.*standard public schema/,
      'owned by pg_database_owner, PUBLIC may not create in it',
    );
    const description = await psql(
      bed.database,
      `SELECT description FROM album WHERE id = md5('album:1')::uuid`,
    );
    assert.ok(description.split('\n').includes(searchPathLine), description);
  });

  test('a drill whose restore psql stops early closes the dump, so the drive unmounts', async () => {
    // A dump of a later day that passes the dump check (gzip, trailer) but fails at its first
    // statement, long enough that psql stops reading long before its end.
    const date = '2099-01-01';
    const padding = `-- ${'x'.repeat(120)}\n`.repeat(400_000);
    const sql = `--\n-- PostgreSQL database dump\n--\nSET statement_timeout = 0;\nSELECT no_such_function();\n${padding}--\n-- PostgreSQL database dump complete\n--\n`;
    await withDriveMounted(sandbox, bed.drive, async (root) => {
      const file = path.join(root, 'immich-backup', `immich-db-${date}.sql.gz`);
      await execa('sh', ['-c', 'gzip -1 > "$1"', 'gzip', file], { input: sql });
    });
    const result = await bed.run('verify', '--drill', '--date', date);
    assert.equal(result.exitCode, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /does not restore/);
    assert.equal(await isMountPoint(bed.mountPoint), false, 'the drive was unmounted');
    assert.doesNotMatch(result.stdout + result.stderr, /target is busy|MOUNT_FAILED/);
    await withDriveMounted(sandbox, bed.drive, (root) =>
      rm(path.join(root, 'immich-backup', `immich-db-${date}.sql.gz`)),
    );
  });
});

describe('an older Immich’s database (plural table names), where the layout matters', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, { photos: 3, assets: 120, olderSchema: true });
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('the drill counts its assets, albums and users by their old names', async () => {
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    const verify = await bed.run('verify', '--drill', '--json');
    assert.equal(verify.exitCode, 0, verify.stdout + verify.stderr);
    const report = JSON.parse(verify.stdout) as { drill: { tables: Record<string, number> } };
    assert.deepEqual(report.drill.tables, { albums: 20, assets: 120, users: 3 });
  });
});

describe('PostgreSQL before 15 (Immich’s compose still runs 14), where the public schema is shared', () => {
  let sandbox: Sandbox;
  let bed: ImmichBed;
  const publicSchema = `SELECT nspowner::regrole || ' ' || coalesce(nspacl::text, 'null') || ' ' || coalesce(obj_description(oid, 'pg_namespace'), 'null') FROM pg_namespace WHERE nspname = 'public'`;

  before(async () => {
    sandbox = await createSandbox();
    bed = await createImmichBed(sandbox, {
      photos: 3,
      assets: 120,
      olderSchema: true,
      databaseImage: olderPostgresImage,
    });
  });
  after(async () => {
    await sandbox?.dispose();
  });

  test('restore puts back the public schema as that version has it, and every row', async () => {
    const original = await psql(bed.database, publicSchema);
    assert.equal(
      original,
      'postgres {postgres=UC/postgres,=UC/postgres} standard public schema',
      'PostgreSQL 13’s own default',
    );
    const rows = await fingerprint(bed.database);
    const result = await bed.run('run');
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    await psql(
      bed.database,
      `DELETE FROM albums_assets_assets; DELETE FROM assets; ALTER SCHEMA public OWNER TO pg_monitor; COMMENT ON SCHEMA public IS NULL;`,
    );
    const restore = await bed.run('restore', '--database-only', '--yes');
    assert.equal(restore.exitCode, 0, restore.stdout + restore.stderr);
    assert.equal(await psql(bed.database, publicSchema), original);
    assert.equal(await fingerprint(bed.database), rows);
  });
});
