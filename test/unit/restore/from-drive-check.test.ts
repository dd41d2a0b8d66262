import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { DockerAdapter } from '../../../src/adapters/docker.js';
import {
  compareRowCounts,
  dumpRowCounts,
  missingOriginals,
  staysUp,
} from '../../../src/restore/from-drive-check.js';
import { dumpRanSearchPathMigration } from '../../../src/restore/from-drive-settings.js';

let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'from-drive-check-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let count = 0;
async function dump(sql: string): Promise<string> {
  const file = path.join(root, `dump-${(count += 1)}.sql.gz`);
  await writeFile(file, gzipSync(sql));
  return file;
}

const sha = 'ab'.repeat(20);
const immichDump = `--
-- PostgreSQL database dump
--
COPY public.album (id, description) FROM stdin;
a1\tCOPY public.asset (id) FROM stdin;\\n\\\\.\\nnot the end
a2\t
\\.

COPY public.asset (id, "originalPath", checksum, "checksumAlgorithm", "isExternal", "deletedAt") FROM stdin;
1\t/data/library/admin/a b.jpg\t\\\\x${sha}\tsha1\tf\t\\N
2\t/mnt/external/x.jpg\t\\\\x${sha}\tsha1-path\tt\t\\N
3\t/data/upload/u/missing.jpg\t\\\\x${sha}\tsha1\tf\t\\N
4\t/data/library/admin/linked.jpg\t\\\\x${sha}\tsha1\tf\t\\N
\\.

COPY public."user" (id, "profileImagePath") FROM stdin;
\\.

COPY public.kysely_migrations (name, "timestamp") FROM stdin;
1744910873969-InitialMigration\t2026-04-13T14:30:00.000Z
1746636476623-DropExtraIndexes\t2026-04-13T14:30:09.000Z
\\.
--
-- PostgreSQL database dump complete
--
`;

describe('restore --from-drive: the checks', () => {
  test("every table's COPY rows are counted, escaped lines and empty tables too", async () => {
    const counts = await dumpRowCounts(await dump(immichDump), 'pg_dump', 'immich');
    assert.deepEqual(Object.fromEntries(counts), {
      'public.album': 2,
      'public.asset': 4,
      'public.user': 0,
      'public.kysely_migrations': 2,
    });
  });

  test("a cluster dump: only the database's own section", async () => {
    const cluster = `--
-- PostgreSQL database cluster dump
--
\\connect template1
COPY public.t (id) FROM stdin;
x
\\.
\\connect immich
COPY public.t (id) FROM stdin;
1
2
\\.
\\connect postgres
COPY public.t (id) FROM stdin;
y
\\.
`;
    const counts = await dumpRowCounts(await dump(cluster), 'pg_dumpall', 'immich');
    assert.deepEqual(Object.fromEntries(counts), { 'public.t': 2 });
  });

  test('the database is compared table by table', async () => {
    let sql = '';
    const docker = {
      execCollect(_container: string, command: readonly string[]) {
        sql = command.at(-1) ?? '';
        return Promise.resolve({
          exitCode: 0,
          // Each table by its index in the query: a name may hold `.`, `|`, a line break.
          stdout: '0|2\n1|3\n2|0\n4|1\n',
          stderr: '',
        });
      },
    } as unknown as DockerAdapter;
    const problems = await compareRowCounts(
      docker,
      { container: 'db', user: 'postgres', database: 'immich' },
      new Map([
        ['public.album', 2],
        ['public.asset', 4],
        ['public.user', 0],
        ['public.kysely_migrations', 2],
        ['public."a.b|c"', 1],
      ]),
    );
    assert.match(sql, /FROM "public"\."user"/);
    assert.match(sql, /SELECT 4, count\(\*\) FROM "public"\."a\.b\|c"/);
    assert.deepEqual(problems, [
      'public.asset has 3 rows, the dump 4',
      'public.kysely_migrations has no rows, the dump 2',
    ]);
  });

  test('every original the dump references in the library is looked up, no link followed', async () => {
    const library = path.join(root, 'library');
    await mkdir(path.join(library, 'library', 'admin'), { recursive: true });
    await writeFile(path.join(library, 'library', 'admin', 'a b.jpg'), 'x');
    await writeFile(path.join(root, 'elsewhere.jpg'), 'x');
    await symlink(
      path.join(root, 'elsewhere.jpg'),
      path.join(library, 'library', 'admin', 'linked.jpg'),
    );
    const result = await missingOriginals(await dump(immichDump), 'pg_dump', {
      database: 'immich',
      library,
      uploadMounts: ['/data'],
    });
    assert.equal(result.checked, 3, 'the external one is not in the library');
    assert.equal(result.outside, 0);
    const elsewhere = await missingOriginals(await dump(immichDump), 'pg_dump', {
      database: 'immich',
      library,
      uploadMounts: ['/elsewhere'],
    });
    assert.deepEqual([elsewhere.checked, elsewhere.outside], [0, 3]);
    assert.deepEqual(result.missing, ['upload/u/missing.jpg', 'library/admin/linked.jpg']);
  });

  test("Immich's recorded search_path migration is found in the dump", async () => {
    assert.equal(
      await dumpRanSearchPathMigration(await dump(immichDump), 'pg_dump', 'immich'),
      true,
    );
    const without = immichDump.replace('1746636476623-DropExtraIndexes', '1746636476623-Other');
    assert.equal(await dumpRanSearchPathMigration(await dump(without), 'pg_dump', 'immich'), false);
    const v1 = `COPY public.migrations (id, "timestamp", name) FROM stdin;
1\t1707000751533\tAddVectorsToSearchPath1707000751533
\\.
`;
    // Immich v1's typeorm table names the class.
    assert.equal(await dumpRanSearchPathMigration(await dump(v1), 'pg_dump', 'immich'), true);
  });

  test('a table whose name holds a dot is counted under its own name', async () => {
    const dotted =
      'COPY public."a.b" (id) FROM stdin;\n1\n\\.\nCOPY "x.y".t (id) FROM stdin;\n\\.\n';
    const counts = await dumpRowCounts(await dump(dotted), 'pg_dump', 'immich');
    assert.deepEqual(Object.fromEntries(counts), { 'public."a.b"': 1, '"x.y".t': 0 });
  });
});

describe('the server stays up', () => {
  /** An engine whose container reads as these states, one per look. */
  const engine = (
    ...looks: { running: boolean; startedAt: string; restartCount: number }[]
  ): DockerAdapter =>
    ({
      inspect: () => {
        const look = looks.shift() ?? looks.at(-1);
        return Promise.resolve(
          look && { ...look, restarting: false, status: look.running ? 'running' : 'exited' },
        );
      },
    }) as unknown as DockerAdapter;
  const up = { running: true, startedAt: '2026-12-07T23:00:00Z', restartCount: 0 };

  test('the same process running at both looks stays up', async () => {
    assert.equal(await staysUp(engine(up, up), 'immich_server', 0), null);
  });

  test('a crash loop under restart: always reads running at both looks, and is caught', async () => {
    const again = { running: true, startedAt: '2026-12-07T23:00:07Z', restartCount: 3 };
    assert.match(
      (await staysUp(engine(up, again), 'immich_server', 0)) ?? '',
      /immich_server restarted .*restart count 0 → 3/,
    );
  });

  test('a server that stopped is named with its state', async () => {
    assert.match(
      (await staysUp(engine(up, { ...up, running: false }), 'immich_server', 0)) ?? '',
      /immich_server is exited/,
    );
  });
});
