import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { ownerLabel, postgresImage, removeContainer } from './containers.js';
import type { ImmichBed } from './immich-bed.js';
import type { Sandbox } from './sandbox.js';

/** What the server, machine-learning and redis stand-ins run: nothing, until told to stop. */
/** (Compose interpolates it: `$$` is a `$`.) */
const idle = 'trap "exit 0" TERM INT; while :; do sleep 1 & wait $$!; done';

export interface ComposeBed {
  /** Compose's project name (the file's top-level `name:`). */
  project: string;
  redis: string;
  machineLearning: string;
}

/**
 * Makes a bed's app folder one that compose can start on this engine (no registry, no network
 * but compose's own bridge): Immich's real compose file, with the bed's container names, its
 * images replaced by the bed's local images (the database's stays PostgreSQL with pgvector; the
 * server, machine learning and redis are idle stand-ins on the same image, the server mounting
 * ${UPLOAD_LOCATION} as Immich's does), no published port, its own project name, and every
 * container labelled as the sandbox's. Pins IMMICH_VERSION=v2.7.5 (the bed's schema) in .env.
 * Compose's network and volume are removed with the sandbox.
 */
export async function makeComposeBed(bed: ImmichBed): Promise<ComposeBed> {
  const { sandbox } = bed;
  const project = `iba-test-${sandbox.id}`;
  const redis = `iba-test-${sandbox.id}-redis`;
  const machineLearning = `iba-test-${sandbox.id}-ml`;
  const composeFile = path.join(bed.appDir, 'docker-compose.yml');
  const document = parse(await readFile(composeFile, 'utf8')) as {
    name: string;
    services: Record<string, Record<string, unknown>>;
  };
  document.name = project;
  const labels = { [ownerLabel]: sandbox.id };
  for (const [name, service] of Object.entries(document.services)) {
    service.labels = labels;
    delete service.ports;
    if (name === 'database') {
      service.image = postgresImage;
      continue;
    }
    service.image = postgresImage;
    service.entrypoint = ['/bin/sh', '-c', idle];
    service.command = [];
    service.healthcheck = { disable: true };
    if (name === 'redis') service.container_name = redis;
    if (name === 'immich-machine-learning') service.container_name = machineLearning;
  }
  await writeFile(composeFile, stringify(document));
  const envFile = path.join(bed.appDir, '.env');
  await writeFile(
    envFile,
    (await readFile(envFile, 'utf8')).replace('IMMICH_VERSION=release', 'IMMICH_VERSION=v2.7.5'),
    { mode: 0o600 },
  );
  // Runs before the bed's own removals (last in, first out): the containers go first, as the
  // network cannot be removed while one is attached.
  sandbox.defer(`remove compose's containers, network and volume of ${project}`, async () => {
    for (const container of [bed.server, bed.database, redis, machineLearning])
      await removeContainer(container);
    for (const [kind, name] of [
      ['network', `${project}_default`],
      ['volume', `${project}_model-cache`],
    ]) {
      const left = await execa('docker', [
        kind as string,
        'ls',
        '--quiet',
        '--filter',
        `name=^${name}$`,
      ]);
      if (left.stdout.trim()) await execa('docker', [kind as string, 'rm', name as string]);
    }
  });
  return { project, redis, machineLearning };
}

/**
 * The machine is lost: everything goes but the drive (unplugged) and the base images: the
 * containers, the app folder, the library, the agent's state, log folder, config and mount point.
 */
export async function loseTheMachine(bed: ImmichBed, composeBed: ComposeBed): Promise<void> {
  await bed.drive.unmountAll();
  for (const container of [bed.server, bed.database, composeBed.redis, composeBed.machineLearning])
    await removeContainer(container);
  for (const gone of [bed.appDir, bed.libraryDir, bed.stateDir, path.dirname(bed.logFile)])
    await rm(gone, { recursive: true, force: true });
  await rm(bed.configFile, { force: true });
  await rm(bed.mountPoint, { recursive: true, force: true });
}

/**
 * A folder to put first on PATH for a machine whose docker CLI has no compose plugin (Debian
 * bookworm's docker.io with its docker-compose v1): its `docker` says what such a CLI says to
 * `docker compose` and is the real docker for everything else.
 */
export async function dockerWithoutComposePlugin(sandbox: Sandbox): Promise<string> {
  const real = (await execa('bash', ['-c', 'command -v docker'])).stdout.trim();
  const folder = sandbox.path('docker-without-compose-plugin');
  await mkdir(folder, { recursive: true });
  const script = [
    '#!/bin/sh',
    'if [ "$1" = compose ]; then',
    '  echo "docker: \'compose\' is not a docker command." >&2',
    '  exit 1',
    'fi',
    `exec '${real.replaceAll("'", `'\\''`)}' "$@"`,
    '',
  ].join('\n');
  await writeFile(path.join(folder, 'docker'), script);
  await chmod(path.join(folder, 'docker'), 0o755);
  return folder;
}
