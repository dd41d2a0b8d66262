/**
 * The dump step on a CPU-heavy database (issue 18), side by side with `docker exec … pg_dump |
 * gzip`, in one run, alternating who goes first, medians: wall time, the CPU seconds of the
 * machine while each side ran (pg_dump, the database server and dockerd included; /proc/stat),
 * and the CPU seconds of the local side alone (the agent's process; gzip and the docker CLI).
 *
 *   node --import tsx bench/dump-cpu.ts [--rows 1500000] [--rounds 5] [--before DIR] [--profile DIR]
 *
 * The database: Immich's schema with a few assets (the dump check wants its tables), plus a table
 * shaped like Immich's asset rows that compress badly (uuids, 20-byte binary checksums, paths,
 * timestamps): 1.5M rows are about 266 MB of SQL and a 99 MB dump. `--before DIR` adds a third
 * side: the dump child of another checkout (e.g. main's), so before and after share one run;
 * `--profile DIR` writes a V8 CPU profile of each agent round there (node --cpu-prof).
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { repoRoot } from '../test/env/cli.js';
import { psql, startDatabase } from '../test/env/containers.js';
import { seedImmichDatabase } from '../test/env/immich-database.js';
import { createSandbox } from '../test/env/sandbox.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1500000' },
    rounds: { type: 'string', default: '5' },
    before: { type: 'string' },
    profile: { type: 'string' },
  },
});
const rows = Number(values.rows);
const rounds = Number(values.rounds);

interface Figures {
  ms: number;
  machineCpuS: number;
  localCpuS: number;
  bytes: number;
}

/** Busy CPU seconds of the whole machine so far (everything but idle and iowait). */
async function machineBusySeconds(): Promise<number> {
  const fields = (await readFile('/proc/stat', 'utf8')).split('\n')[0]?.trim().split(/\s+/) ?? [];
  const ticks = fields.slice(1).map(Number);
  const busy = ticks.reduce((sum, value) => sum + value, 0) - (ticks[3] ?? 0) - (ticks[4] ?? 0);
  return busy / 100; // USER_HZ
}

async function measured(run: () => Promise<{ localCpuS: number; bytes: number }>) {
  const busyBefore = await machineBusySeconds();
  const started = performance.now();
  const { localCpuS, bytes } = await run();
  const ms = performance.now() - started;
  return { ms, machineCpuS: (await machineBusySeconds()) - busyBefore, localCpuS, bytes };
}

const agentSide = (checkout: string, container: string, file: string) => () =>
  measured(async () => {
    const out = await execa(
      'node',
      [
        ...(values.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values.profile)}`] : []),
        '--import',
        'tsx',
        path.join(repoRoot, 'bench/dump-cpu-child.ts'),
        container,
        file,
        checkout,
      ],
      { cwd: repoRoot },
    );
    const result = JSON.parse(out.stdout) as { bytes: number; cpuS?: number };
    await rm(file, { force: true });
    return { localCpuS: result.cpuS ?? Number.NaN, bytes: result.bytes };
  });

const shellSide = (container: string, file: string) => () =>
  measured(async () => {
    // `times` prints the children's user and system seconds (gzip and the docker CLI).
    const out = await execa('bash', [
      '-o',
      'pipefail',
      '-c',
      'docker exec "$1" pg_dump --clean --if-exists --username=postgres immich | gzip > "$2"; times',
      '_',
      container,
      file,
    ]);
    const children = (out.stdout.trim().split('\n').at(-1) ?? '').match(/(\d+)m([\d.]+)s/g) ?? [];
    const localCpuS = children
      .map((part) => /(\d+)m([\d.]+)s/.exec(part) as RegExpExecArray)
      .reduce((sum, [, minutes, secs]) => sum + Number(minutes) * 60 + Number(secs), 0);
    const { size } = await import('node:fs/promises').then((fs) => fs.stat(file));
    await rm(file, { force: true });
    return { localCpuS, bytes: size };
  });

const median = (list: number[]): number => {
  const sorted = [...list].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

const sandbox = await createSandbox();
try {
  const container = await startDatabase(sandbox, 'dump-cpu');
  await seedImmichDatabase(container, 100);
  const seeding = performance.now();
  await psql(
    container,
    `CREATE TABLE bench_asset (id uuid PRIMARY KEY, "ownerId" uuid NOT NULL, checksum bytea NOT NULL,
       "originalPath" text NOT NULL, "fileCreatedAt" timestamptz NOT NULL);
     INSERT INTO bench_asset SELECT gen_random_uuid(), '9f1c1b4e-54c6-4a8e-a2a4-0f4b8a1d2c3e',
       substring(sha256((random()::text || g)::bytea) for 20),
       '/usr/src/app/upload/library/admin/' || (2000 + g % 25) || '/IMG_' || g || '.jpg',
       now() - random() * interval '3650 days'
     FROM generate_series(1, ${rows}) AS g;`,
  );
  const sql = await psql(container, `SELECT pg_size_pretty(pg_database_size('immich'))`);
  console.log(`seeded ${rows} rows in ${((performance.now() - seeding) / 1000).toFixed(1)} s`);
  console.log(`database size ${sql.trim()}`);
  const sides: [string, () => Promise<Figures>][] = [
    ['agent', agentSide(repoRoot, container, sandbox.path('agent.sql.gz'))],
    ['pg_dump \\| gzip', shellSide(container, sandbox.path('shell.sql.gz'))],
  ];
  if (values.before) {
    const before = path.resolve(values.before);
    sides.push(['agent before', agentSide(before, container, sandbox.path('before.sql.gz'))]);
  }
  const figures = sides.map((): Figures[] => []);
  for (let round = 0; round < rounds; round += 1) {
    // Who goes first rotates every round, so no side always inherits another's writeback.
    for (let turn = 0; turn < sides.length; turn += 1) {
      const index = (round + turn) % sides.length;
      (figures[index] as Figures[]).push(
        await (sides[index] as [string, () => Promise<Figures>])[1](),
      );
    }
    const line = sides.map(([name], index) => {
      const last = (figures[index] as Figures[]).at(-1) as Figures;
      return `${name} ${(last.ms / 1000).toFixed(2)} s (cpu ${last.machineCpuS.toFixed(1)} s)`;
    });
    console.log(`round ${round + 1}: ${line.join(' | ')}`);
  }
  const shell = figures[1] as Figures[];
  console.log(`\n| side | wall (median) | ÷ pg_dump \\| gzip | machine CPU s | local CPU s | MB |`);
  console.log('| --- | --- | --- | --- | --- | --- |');
  sides.forEach(([name], index) => {
    const list = figures[index] as Figures[];
    const ms = median(list.map((entry) => entry.ms));
    console.log(
      `| ${name} | ${(ms / 1000).toFixed(2)} s | ${(ms / median(shell.map((entry) => entry.ms))).toFixed(2)} | ${median(list.map((entry) => entry.machineCpuS)).toFixed(2)} | ${median(list.map((entry) => entry.localCpuS)).toFixed(2)} | ${(median(list.map((entry) => entry.bytes)) / 1e6).toFixed(1)} |`,
    );
  });
} finally {
  await sandbox.dispose();
}
