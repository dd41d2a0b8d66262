import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import type { DockerAdapter } from '../../../src/adapters/docker.js';
import { createProcessGateway, type ProcessGateway } from '../../../src/adapters/process.js';
import type { KitManifest } from '../../../src/restore-kit/kit-manifest.js';
import { finalChecks } from '../../../src/restore/from-drive-app.js';
import { executeFromDrive } from '../../../src/restore/from-drive-execute.js';
import type { FromDrivePlan } from '../../../src/restore/from-drive-plan.js';

/**
 * A whole run on a fake engine and compose (the copy is rsync's own): the order of the steps,
 * and what the summary keeps when a check fails.
 */
const log = pino({ level: 'silent' });
const id = `sha256:${'b'.repeat(64)}`;
let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'from-drive-run-'));
  await mkdir(path.join(root, 'drive', 'files'), { recursive: true });
  await writeFile(path.join(root, 'drive', 'files', 'photo.jpg'), 'x');
  await writeFile(
    path.join(root, 'drive', 'dump.sql.gz'),
    gzipSync(
      'CREATE TABLE public.asset (id text);\nCOPY public.asset (id) FROM stdin;\na1\na2\n\\.\n',
    ),
  );
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function plan(name: string): FromDrivePlan {
  const appDir = path.join(root, name, 'app');
  const image = { reference: 'postgres:14', id, repoDigests: [], saved: null };
  return {
    backupDir: path.join(root, 'drive'),
    kitDir: path.join(root, 'drive', 'restore-kit'),
    kit: {
      immich: {
        databaseContainer: 'immich_postgres',
        serverContainer: 'immich_server',
        database: 'immich',
        databaseUser: 'postgres',
        uploadMounts: ['/data'],
      },
    } as KitManifest,
    dump: { name: 'dump.sql.gz' },
    dumpFile: path.join(root, 'drive', 'dump.sql.gz'),
    format: 'pg_dump',
    appDir,
    library: path.join(root, name, 'library'),
    dbDataDir: path.join(appDir, 'postgres'),
    composeName: 'docker-compose.yml',
    composeText: 'services: {}\n',
    envText: 'DB_PASSWORD=pw\n',
    env: new Map([['DB_PASSWORD', 'pw']]),
    databaseService: 'database',
    serverService: null,
    flavour: 'v2',
    unpinned: [],
    services: [
      { name: 'database', containerName: 'immich_postgres', image: 'postgres:14', volumes: [] },
    ],
    images: [{ role: 'database', image, source: 'here' }],
  } as unknown as FromDrivePlan;
}

/** The engine: the database answers, holds `rows` rows of public.asset; inspect as given. */
function engine(rows: number, inspect: () => Promise<unknown>): DockerAdapter {
  return {
    imageInfo: () => Promise.resolve({ id }),
    execCollect: (_container: string, args: string[]) => {
      const sql = args.join(' ');
      const stdout = sql.includes('count(*)') ? `0|${rows}\n` : '*\n';
      return Promise.resolve({ exitCode: 0, stdout, stderr: '' });
    },
    execWithInput: async (_container: string, _args: string[], input: NodeJS.ReadableStream) => {
      for await (const chunk of input) void chunk;
      return { exitCode: 0, stdout: '', stderr: '' };
    },
    inspect,
  } as unknown as DockerAdapter;
}

/** Compose succeeds (its runs kept); rsync is the real one. */
function gateway(ran: string[][]): ProcessGateway {
  const real = createProcessGateway({ logger: log, secrets: [] });
  return {
    ...real,
    run: (request: Parameters<ProcessGateway['run']>[0]) => {
      if (request.file !== 'docker') return real.run(request);
      ran.push(request.args as string[]);
      const services = {
        database: { container_name: 'immich_postgres', image: 'postgres:14', volumes: [] },
      };
      const stdout = request.args.includes('config') ? JSON.stringify({ services }) : '';
      return Promise.resolve({ exitCode: 0, stdout, stderr: '', durationMs: 1 });
    },
  };
}

/** The `up` runs among them, from `up` on. */
const ups = (ran: string[][]) =>
  ran.filter((args) => args.includes('up')).map((args) => args.slice(args.indexOf('up')));

describe('restore --from-drive: a whole run', () => {
  test('row counts that differ stop it before the copy and before Immich starts', async () => {
    const ran: string[][] = [];
    const summary = await executeFromDrive(plan('short'), {
      docker: engine(1, () => Promise.resolve(null)),
      gateway: gateway(ran),
      log,
      loadKitImage: () => Promise.resolve(),
    });
    assert.equal(summary.ok, false);
    assert.match(summary.failure?.message ?? '', /public\.asset has 1 rows, the dump 2/);
    assert.deepEqual(ups(ran), [['up', '-d', '--no-deps', 'database']], 'only the database');
    assert.ok(ran[0]?.includes('config'), "compose's own model was read first");
    assert.match(summary.failure?.next ?? '', /docker compose down/);
    assert.deepEqual(summary.done.at(-1), 'Restored the database from dump.sql.gz.');
  });

  test('a check that throws is a problem in the summary, which keeps what was done', async () => {
    const ran: string[][] = [];
    const summary = await executeFromDrive(plan('checks'), {
      docker: engine(2, () => Promise.reject(new Error('engine went away'))),
      gateway: gateway(ran),
      log,
      loadKitImage: () => Promise.resolve(),
    });
    assert.equal(summary.ok, false);
    assert.deepEqual(ups(ran), [
      ['up', '-d', '--no-deps', 'database'],
      ['up', '-d'],
    ]);
    assert.match(summary.done.join('\n'), /Checked: 1 table hold the dump's rows/);
    assert.match(summary.done.join('\n'), /Copied 1 file/);
    assert.match(summary.done.at(-1) ?? '', /Started Immich/);
    assert.match(summary.problems.join(''), /the checks could not finish: .*engine went away/);
  });

  test("a copy that fails says to copy without following the drive's links, not rsync -a", async () => {
    const broken = plan('copy');
    await mkdir(path.join(root, 'copy'), { recursive: true });
    await writeFile(broken.library, 'a file where the library goes');
    const summary = await executeFromDrive(broken, {
      docker: engine(2, () => Promise.resolve(null)),
      gateway: gateway([]),
      log,
      loadKitImage: () => Promise.resolve(),
    });
    assert.equal(summary.ok, false);
    assert.match(summary.failure?.next ?? '', /rsync -rt --no-links --no-devices --no-specials/);
    assert.doesNotMatch(summary.failure?.next ?? '', /rsync -a/);
  });

  test('no original checked while the dump has some is a problem, not a pass', async () => {
    const sha = 'a'.repeat(40);
    const file = path.join(root, 'drive', 'assets.sql.gz');
    await writeFile(
      file,
      gzipSync(
        `COPY public.asset (id, "originalPath", checksum, "checksumAlgorithm", "isExternal", "deletedAt") FROM stdin;\n1\t/usr/src/app/upload/library/a.jpg\t\\\\x${sha}\tsha1\tf\t\\N\n\\.\n`,
      ),
    );
    const checked = { ...plan('none-checked'), dumpFile: file };
    const found = await finalChecks(checked, {
      docker: engine(0, () => Promise.resolve({ running: true, restarting: false })),
      gateway: gateway([]),
      log,
      settleSeconds: 0,
    });
    assert.deepEqual(found.checked, 0);
    assert.match(
      found.problems.join(''),
      /none of the 1 original .* under the kit's upload mounts \(\/data\)/,
    );
  });

  test('Ctrl-C during the dump restore stops the wait at once, with what to do', async () => {
    const controller = new AbortController();
    const docker = engine(2, () => Promise.resolve(null));
    // psql that never ends; the run must not wait for it once interrupted.
    docker.execWithInput = () => new Promise(() => undefined);
    setTimeout(() => controller.abort(), 200);
    const summary = await executeFromDrive(plan('interrupted'), {
      docker,
      gateway: gateway([]),
      log,
      signal: controller.signal,
      loadKitImage: () => Promise.resolve(),
    });
    assert.equal(summary.ok, false);
    assert.match(summary.failure?.message ?? '', /Interrupted/);
    assert.match(summary.done.at(-1) ?? '', /Started the database/);
    assert.match(summary.failure?.next ?? '', /docker compose down/);
  });
});
