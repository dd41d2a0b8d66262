import type { Duplex, Readable } from 'node:stream';
import Docker from 'dockerode';
import {
  checkedContainerName as checked,
  translateDockerError as translate,
} from './docker-errors.js';
import { DockerDemux } from './docker-demux.js';
import { imageCalls, type ImageInfo, type LoadedImages } from './docker-images.js';
import { collect, feedCommand, type ExecHandle, type ExecOutput } from './docker-exec-input.js';

export type { ExecHandle, ExecOutput } from './docker-exec-input.js';
export type { ImageInfo, LoadedImages } from './docker-images.js';

export interface ContainerState {
  id: string;
  name: string;
  /** The reference it was created from (`Config.Image`). */
  image: string;
  /** The id (`sha256:…`) of the image it runs, whatever its reference points at now. */
  imageId: string;
  running: boolean;
  restarting: boolean;
  status: string;
  /** When its process last started (ISO); a restart policy's restarts change it. */
  startedAt: string;
  /** How often the engine restarted it under its restart policy. */
  restartCount: number;
}

/** The Docker engine, from the caller's side. */
export interface DockerAdapter {
  ping(): Promise<void>;
  inspect(name: string): Promise<ContainerState | null>;
  stop(name: string, timeoutSeconds: number): Promise<void>;
  start(name: string): Promise<void>;
  exec(name: string, command: readonly string[], env?: readonly string[]): Promise<ExecHandle>;
  /** Runs a command to its end and collects its (small) output. */
  execCollect(
    name: string,
    command: readonly string[],
    env?: readonly string[],
  ): Promise<ExecOutput>;
  /** Runs a command with `input` streamed (with backpressure) to its stdin. */
  execWithInput(
    name: string,
    command: readonly string[],
    input: Readable,
    env?: readonly string[],
  ): Promise<ExecOutput>;
  /** Creates and starts a container of the agent's own (a restore drill), with no network. */
  runThrowaway(options: {
    name: string;
    image: string;
    env: readonly string[];
    labels: Record<string, string>;
  }): Promise<void>;
  /** An image by reference or id: its id, tags and registry digests; null if not here. */
  imageInfo(reference: string): Promise<ImageInfo | null>;
  /** `docker save` of one image, as the engine streams it (an uncompressed tar). */
  saveImage(reference: string): Promise<Readable>;
  /**
   * `docker load` of a tar stream (plain or compressed): what the engine says it loaded; fails
   * with the engine's message.
   */
  loadImage(tar: Readable): Promise<LoadedImages>;
  /** Points `reference` (`name:tag`) at the image `id`, as `docker tag` does. */
  tagImage(id: string, reference: string): Promise<void>;
  /** Removes a container, running or not, with its anonymous volumes. */
  remove(name: string): Promise<void>;
  /** Names of the containers (running or not) that carry this label. */
  namesWithLabel(label: string): Promise<string[]>;
}

/** The engine `DOCKER_HOST` names (unix:// or tcp://), else /var/run/docker.sock. */
export function dockerConnection(dockerHost = process.env.DOCKER_HOST): Docker.DockerOptions {
  if (!dockerHost) return { socketPath: '/var/run/docker.sock' };
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port || 2375), protocol: 'http' };
}

export function createDockerAdapter(
  options: Docker.DockerOptions = dockerConnection(),
): DockerAdapter {
  const docker = new Docker(options);
  const where = options.socketPath ?? `${options.host}:${options.port}`;

  const call = async <T>(what: string, action: () => Promise<T>): Promise<T> => {
    try {
      return await action();
    } catch (error) {
      throw translate(error, what, where);
    }
  };

  /** Starts a command in a container; its multiplexed output is split by DockerDemux. */
  const startExec = async (
    name: string,
    command: readonly string[],
    env: readonly string[],
    withStdin: boolean,
  ): Promise<{ handle: ExecHandle; raw: Duplex }> => {
    const what = `run ${command[0]} in ${checked(name)}`;
    const execution = await call(what, () =>
      docker.getContainer(name).exec({
        Cmd: [...command],
        Env: [...env],
        AttachStdin: withStdin,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
      }),
    );
    const raw = await call<Duplex>(what, () => execution.start({ hijack: true, stdin: withStdin }));
    const demux = new DockerDemux();
    raw.pipe(demux);
    raw.on('error', (error) => demux.destroy(error));
    demux.on('close', () => raw.destroy());
    const handle: ExecHandle = {
      stdout: demux,
      stderr: () => demux.stderr,
      async exitCode() {
        // The engine may report the exit code a moment after the stream has ended.
        for (let attempt = 0; attempt < 50; attempt += 1) {
          const state = await call(`inspect ${command[0]} in ${name}`, () => execution.inspect());
          if (!state.Running && state.ExitCode !== null) return state.ExitCode;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return null;
      },
    };
    return { handle, raw };
  };

  return {
    async ping() {
      await call('reach the Docker engine', () => docker.ping());
    },

    async inspect(name) {
      checked(name);
      try {
        const info = await docker.getContainer(name).inspect();
        return {
          id: info.Id,
          name: info.Name.replace(/^\//, ''),
          image: info.Config.Image,
          imageId: info.Image,
          running: info.State.Running,
          restarting: info.State.Restarting,
          status: info.State.Status,
          startedAt: info.State.StartedAt,
          restartCount: info.RestartCount,
        };
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return null;
        throw translate(error, `inspect container ${name}`, where);
      }
    },

    async stop(name, timeoutSeconds) {
      checked(name);
      await call(`stop container ${name}`, async () => {
        try {
          await docker.getContainer(name).stop({ t: timeoutSeconds });
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode !== 304) throw error; // already stopped
        }
      });
    },

    async start(name) {
      checked(name);
      await call(`start container ${name}`, async () => {
        try {
          await docker.getContainer(name).start();
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode !== 304) throw error; // already running
        }
      });
    },

    async exec(name, command, env = []) {
      return (await startExec(name, command, env, false)).handle;
    },

    async execCollect(name, command, env = []) {
      return collect((await startExec(name, command, env, false)).handle);
    },

    async execWithInput(name, command, input, env = []) {
      const { handle, raw } = await startExec(name, command, env, true);
      return feedCommand(handle, raw, input, (error) =>
        translate(error, `feed ${command[0]} in ${name}`, where),
      );
    },

    async runThrowaway(options) {
      checked(options.name);
      await call(`create container ${options.name}`, async () => {
        const container = await docker.createContainer({
          name: options.name,
          Image: options.image,
          Env: [...options.env],
          Labels: options.labels,
          HostConfig: { NetworkMode: 'none', AutoRemove: false, ShmSize: 128 * 1024 * 1024 },
        });
        await container.start();
      });
    },

    ...imageCalls(docker, where),

    async remove(name) {
      checked(name);
      try {
        await docker.getContainer(name).remove({ force: true, v: true });
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode !== 404)
          throw translate(error, `remove container ${name}`, where);
      }
    },
    async namesWithLabel(label) {
      try {
        const found = await docker.listContainers({ all: true, filters: { label: [label] } });
        return found.map((container) => (container.Names[0] ?? container.Id).replace(/^\//, ''));
      } catch (error) {
        throw translate(error, `list containers labelled ${label}`, where);
      }
    },
  };
}
