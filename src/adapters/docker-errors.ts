import { AgentError } from '../errors.js';
import { containerNameProblem } from '../model/immich-names.js';

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

/**
 * A container name goes into the engine's API paths (`/containers/<name>/…`): one that Docker
 * itself could not have given (`a/../b`) is refused before any call, as configuration.
 */
export function checkedContainerName(name: string): string {
  const problem = containerNameProblem(name);
  if (problem !== null) {
    throw new AgentError('CONFIG_INVALID', `Refusing to ask Docker about ${problem}.`, {
      hint: 'Set immich.serverContainer and immich.databaseContainer to the names `docker ps` shows.',
    });
  }
  return name;
}
