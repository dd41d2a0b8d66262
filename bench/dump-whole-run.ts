/**
 * The fixed cost of a run (issue 18): the agent's whole run on the unchanged 20,000-file library,
 * side by side with the seed's shell sequence (as bench/run.ts's first row builds them), and with
 * another checkout's agent (`--before DIR`, built: DIR/dist/src/cli/main.js), alternating who
 * goes first, medians. Each agent round also reports the time from the server's start to the
 * end of the run as its log shows it.
 *
 *   node --import tsx bench/dump-whole-run.ts [--rounds 7] [--files 20000] [--before DIR]
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { cliPath } from '../test/env/cli.js';
import { createImmichBed, type ImmichBed } from '../test/env/immich-bed.js';
import { createSandbox } from '../test/env/sandbox.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    files: { type: 'string', default: '20000' },
    before: { type: 'string' },
  },
});

async function manyFiles(dir: string, count: number, size: number): Promise<void> {
  for (let start = 0; start < count; start += 1000) {
    const folder = path.join(dir, String(start / 1000));
    await mkdir(folder, { recursive: true });
    await Promise.all(
      Array.from({ length: Math.min(1000, count - start) }, (_, index) =>
        writeFile(path.join(folder, `IMG_${start + index}.jpg`), randomBytes(size)),
      ),
    );
  }
}

/** The seed's backup_immich.sh, as bench/run.ts runs it. */
async function shellBackup(bed: ImmichBed, mountPoint: string): Promise<number> {
  const script = `set -euo pipefail
mkdir -p "$MOUNT"; mount "$DEVICE" "$MOUNT"
mkdir -p "$MOUNT/immich-backup"
docker stop "$SERVER" >/dev/null
docker exec "$DB" pg_dump --clean --if-exists --username=postgres immich | gzip > "$MOUNT/immich-backup/immich-db-$(date +%F).sql.gz"
rsync -a "$LIBRARY/" "$MOUNT/immich-backup/files/"
cp "$APP/docker-compose.yml" "$APP/.env" "$MOUNT/immich-backup/"
docker start "$SERVER" >/dev/null
umount "$MOUNT"`;
  const started = performance.now();
  await execa('bash', ['-c', script], {
    env: {
      MOUNT: mountPoint,
      DEVICE: bed.drive.device,
      SERVER: bed.server,
      DB: bed.database,
      LIBRARY: bed.libraryDir,
      APP: bed.appDir,
    },
  });
  return performance.now() - started;
}

/** One agent run with the CLI at `cli`: its time, and from the server's start to its last event. */
async function agentRun(bed: ImmichBed, cli: string): Promise<{ ms: number; tailMs: number }> {
  const started = performance.now();
  const result = await execa('node', [cli, '--config', bed.configFile, 'run'], { reject: false });
  const ms = performance.now() - started;
  if (result.exitCode !== 0) throw new Error(`agent exited ${result.exitCode}: ${result.stdout}`);
  const events = String(result.stdout)
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { time: number | string; msg?: string });
  const time = (event: { time: number | string } | undefined) => Number(new Date(event?.time ?? 0));
  const restart = events.find((event) => /is running again/.test(event.msg ?? ''));
  return { ms, tailMs: time(events.at(-1)) - time(restart) };
}

const median = (list: number[]): number => {
  const sorted = [...list].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

const sandbox = await createSandbox();
try {
  const bed = await createImmichBed(sandbox, { photos: 10, assets: 2000, driveSizeMb: 2048 });
  await manyFiles(path.join(bed.libraryDir, 'upload', 'bench'), Number(values.files), 1500);
  const mountPoint = path.join(bed.root, 'shell-mount');
  await agentRun(bed, cliPath); // the drive holds the backup; from here on the library is unchanged
  const sides: { name: string; run: () => Promise<{ ms: number; tailMs?: number }> }[] = [
    { name: 'agent', run: () => agentRun(bed, cliPath) },
    { name: "seed's shell", run: async () => ({ ms: await shellBackup(bed, mountPoint) }) },
  ];
  if (values.before) {
    const cli = path.join(path.resolve(values.before), 'dist/src/cli/main.js');
    sides.push({ name: 'agent before', run: () => agentRun(bed, cli) });
  }
  const figures = sides.map((): { ms: number; tailMs?: number }[] => []);
  for (let round = 0; round < Number(values.rounds); round += 1) {
    for (let turn = 0; turn < sides.length; turn += 1) {
      const index = (round + turn) % sides.length;
      figures[index]?.push(await (sides[index] as (typeof sides)[number]).run());
    }
    const line = sides.map(({ name }, index) => {
      const last = figures[index]?.at(-1);
      const tail = last?.tailMs === undefined ? '' : ` (tail ${(last.tailMs / 1000).toFixed(2)} s)`;
      return `${name} ${((last?.ms ?? 0) / 1000).toFixed(2)} s${tail}`;
    });
    console.log(`round ${round + 1}: ${line.join(' | ')}`);
  }
  const shell = median((figures[1] ?? []).map((entry) => entry.ms));
  console.log(
    `\n| unchanged ${values.files}-file library, whole run | median | ÷ seed's shell | server start → end of run |`,
  );
  console.log('| --- | --- | --- | --- |');
  sides.forEach(({ name }, index) => {
    const list = figures[index] ?? [];
    const ms = median(list.map((entry) => entry.ms));
    const tails = list.flatMap((entry) => (entry.tailMs === undefined ? [] : [entry.tailMs]));
    const tail = tails.length ? `${(median(tails) / 1000).toFixed(2)} s` : '';
    console.log(`| ${name} | ${(ms / 1000).toFixed(2)} s | ${(ms / shell).toFixed(2)} | ${tail} |`);
  });
} finally {
  await sandbox.dispose();
}
