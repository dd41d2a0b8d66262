import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { printableConfig } from '../../../src/cli/config-command.js';
import { configSchema } from '../../../src/config/schema.js';
import { uuid, writeConfig } from './config-fixtures.js';

describe('config print', () => {
  test('shows every section of the configuration (drive as the resolved drives)', async () => {
    const file = await writeConfig({ drive: { uuid }, immich: { libraryDir: '/srv/photos' } });
    const printed = printableConfig(await loadConfig(file));
    const sections = Object.keys(configSchema.shape).map((key) =>
      key === 'drive' ? 'drives' : key,
    );
    for (const section of new Set(sections)) {
      assert.ok(section in printed, `config print leaves out ${section}`);
    }
  });
});
