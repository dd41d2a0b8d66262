import { stringify } from 'yaml';
import { loadConfig, resolveConfigFile, type AgentConfig } from '../config/load.js';
import { exitCodes } from '../exit-codes.js';

/** `config validate`: exit 0 with a one-line summary, or 2 with every problem (via main). */
export async function configValidateCommand(configFlag: string | undefined): Promise<number> {
  const config = await loadConfig(resolveConfigFile(configFlag));
  process.stdout.write(
    `${config.configFile} is valid: ${config.drives.length === 1 ? 'drive' : `${config.drives.length} drives`} ${config.drives.map((drive) => drive.uuid).join(', ')}, library ${config.immich.libraryDir}, containers ${config.immich.serverContainer} and ${config.immich.databaseContainer}.\n`,
  );
  return exitCodes.ok;
}

/** A URL without what may be a secret (a ping key, a token in the path or query). */
function maskUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '/' : '/***'}`;
}

/** The configuration as the agent uses it: discovered values filled in, secrets masked. */
export function printableConfig(config: AgentConfig): Record<string, unknown> {
  return {
    immich: { ...config.immich, databasePassword: config.secrets.databasePassword ? '***' : null },
    drives: config.drives,
    schedule: config.schedule,
    power: config.power,
    notify: {
      ...config.notify,
      webhooks: config.notify.webhooks.map((hook) => ({ ...hook, url: maskUrl(hook.url) })),
    },
    verify: config.verify,
    restoreKit: config.restoreKit,
    retention: config.retention,
    versions: config.versions,
    guard: config.guard,
    log: config.log,
    metrics: config.metrics,
    stateDir: config.stateDir,
  };
}

/** `config print`: the resolved configuration as YAML. */
export async function configPrintCommand(configFlag: string | undefined): Promise<number> {
  const config = await loadConfig(resolveConfigFile(configFlag));
  process.stdout.write(
    `# ${config.configFile}, resolved (discovered values filled in, secrets masked)\n${stringify(printableConfig(config))}`,
  );
  return exitCodes.ok;
}
