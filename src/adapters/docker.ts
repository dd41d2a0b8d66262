import type { Duplex, Readable } from 'node:stream';
import Docker from 'dockerode';
import { AgentError } from '../errors.js';
import { DockerDemux } from './docker-demux.js';

export interface ContainerState {
  id: string;
  name: string;
  image: string;
  running: boolean;
  restarting: boolean;
  status: string;
}

export interface ExecHandle {
  /** The command's stdout, demultiplexed; pipe it with backpressure. */
  stdout: Readable;
  /** The tail of what the command wrote to stderr so far. */
  stderr(): string;
  /** The exit code, once stdout has ended. */
  exitCode(): Promise<number | null>;
}

/** The Docker engine, from the caller's side. */
export interface DockerAdapter {
  ping(): Promise<void>;
  inspect(name: string): Promise<ContainerState | null>;
  stop(name: string, timeoutSeconds: number): Promise<void>;
  start(name: string): Promise<void>;
  exec(name: string, command: readonly string[], env?: readonly string[]): Promise<ExecHandle>;
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

  return {
    async ping() {
      await call('reach the Docker engine', () => docker.ping());
    },

    async inspect(name) {
      try {
        const info = await docker.getContainer(name).inspect();
        return {
          id: info.Id,
          name: info.Name.replace(/^\//, ''),
          image: info.Config.Image,
          running: info.State.Running,
          restarting: info.State.Restarting,
          status: info.State.Status,
        };
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return null;
        throw translate(error, `inspect container ${name}`, where);
      }
    },

    async stop(name, timeoutSeconds) {
      await call(`stop container ${name}`, async () => {
        try {
          await docker.getContainer(name).stop({ t: timeoutSeconds });
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode !== 304) throw error; // already stopped
        }
      });
    },

    async start(name) {
      await call(`start container ${name}`, async () => {
        try {
          await docker.getContainer(name).start();
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode !== 304) throw error; // already running
        }
      });
    },

    async exec(name, command, env = []) {
      const execution = await call(`run ${command[0]} in ${name}`, () =>
        docker.getContainer(name).exec({
          Cmd: [...command],
          Env: [...env],
          AttachStdout: true,
          AttachStderr: true,
          Tty: false,
        }),
      );
      const raw = await call<Duplex>(`run ${command[0]} in ${name}`, () =>
        execution.start({ hijack: true, stdin: false }),
      );
      const demux = new DockerDemux();
      raw.pipe(demux);
      raw.on('error', (error) => demux.destroy(error));
      demux.on('close', () => raw.destroy());
      return {
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
    },
  };
}

function translate(error: unknown, what: string, where: string): AgentError {
  const code = (error as NodeJS.ErrnoException).code;
  if (
    code === 'ECONNREFUSED' ||
    code === 'ENOENT' ||
    code === 'EACCES' ||
    code === 'EHOSTUNREACH'
  ) {
    return new AgentError(
      'DOCKER_UNAVAILABLE',
      `Could not ${what}: the Docker engine at ${where} does not answer (${code}).`,
      {
        hint: 'Start Docker (systemctl start docker) and run again.',
        cause: error,
      },
    );
  }
  const statusCode = (error as { statusCode?: number }).statusCode;
  if (statusCode === 404) {
    return new AgentError('CONTAINER_MISSING', `Could not ${what}: no such container.`, {
      hint: 'Check immich.serverContainer / immich.databaseContainer (docker ps -a).',
      cause: error,
    });
  }
  const reason =
    (error as { json?: { message?: string } }).json?.message ?? (error as Error).message;
  return new AgentError('INTERNAL', `Could not ${what}: ${reason}`, { cause: error });
}
