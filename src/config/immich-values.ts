import path from 'node:path';
import { AgentError } from '../errors.js';
import {
  containerNameProblem,
  postgresNameProblem,
  uploadLocationProblem,
} from '../model/immich-names.js';
import type { ConfigIssue } from './config-file.js';
import type { ImmichInstall } from './immich-discovery.js';

/**
 * `.env` or the compose file could not be taken (see readImmichFile): refused before anything
 * is read from them (CONFIG_INSECURE, exit 2), with what makes them safe again.
 */
export function refuseUntrustedImmichFiles(install: ImmichInstall): void {
  if (install.refused.length === 0) return;
  throw new AgentError(
    'CONFIG_INSECURE',
    `Refusing Immich's files: ${install.refused.join('; ')}. The agent runs as root and copies them to the drive, so whoever could change or replace them would steer it.`,
    {
      hint: `Keep .env and the compose file in ${install.appDir} as regular files (not symlinks) owned by root or the folder's owner and writable by no one else, e.g. sudo chmod go-w '${install.appDir}/.env'.`,
      step: 'config',
    },
  );
}

/** The Immich values a configuration resolved to, and whether each came from the config file. */
export interface ImmichValues {
  serverContainer: { value: string; fromConfig: boolean };
  databaseContainer: { value: string; fromConfig: boolean };
  databaseUser: { value: string; fromConfig: boolean };
  databaseName: { value: string; fromConfig: boolean };
  /** UPLOAD_LOCATION when libraryDir came from it, else null. */
  uploadLocation: string | null;
}

/**
 * Every resolved name is checked before it reaches Docker or PostgreSQL: container names by
 * Docker's rule, database and role names as plain PostgreSQL names, UPLOAD_LOCATION as a path.
 * Each issue says where the value came from, the key that overrides it included.
 */
export function immichValueIssues(install: ImmichInstall, values: ImmichValues): ConfigIssue[] {
  const envFile = path.join(install.appDir, '.env');
  const composeFile = install.composeFile ?? path.join(install.appDir, 'docker-compose.yml');
  const checks: [
    keyof Omit<ImmichValues, 'uploadLocation'>,
    string,
    (name: string) => string | null,
  ][] = [
    ['serverContainer', `container_name in ${composeFile}`, containerNameProblem],
    ['databaseContainer', `container_name in ${composeFile}`, containerNameProblem],
    ['databaseUser', `DB_USERNAME in ${envFile}`, postgresNameProblem],
    ['databaseName', `DB_DATABASE_NAME in ${envFile}`, postgresNameProblem],
  ];
  const issues: ConfigIssue[] = [];
  for (const [key, source, problemOf] of checks) {
    const { value, fromConfig } = values[key];
    const problem = problemOf(value);
    if (problem === null) continue;
    issues.push({
      path: `immich.${key}`,
      message: fromConfig
        ? problem
        : `${problem}, as ${source} says; fix it there or set immich.${key}`,
    });
  }
  if (values.uploadLocation !== null) {
    const problem = uploadLocationProblem(values.uploadLocation);
    if (problem !== null)
      issues.push({
        path: 'immich.libraryDir',
        message: `UPLOAD_LOCATION in ${envFile} ${problem}; fix it there or set immich.libraryDir`,
      });
  }
  return issues;
}
