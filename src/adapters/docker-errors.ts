import { AgentError } from '../errors.js';

/**
 * What went wrong talking to the Docker engine, as the agent's error: an engine that does not
 * answer (DOCKER_UNAVAILABLE, with how to start it), a container that is not there
 * (CONTAINER_MISSING, with where to look), anything else with the engine's own message.
 */
export function translateDockerError(error: unknown, what: string, where: string): AgentError {
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
