import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { execa } from 'execa';
import { fromDriveUsage } from '../../../src/cli/restore-from-drive-command.js';

const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/cli/main.js');
const agent = (...args: string[]) =>
  execa('node', [main, ...args], {
    reject: false,
    env: { IMMICH_BACKUP_AGENT_CONFIG: '/nonexistent/config.yml' },
  });

describe('restore --from-drive: usage', () => {
  test('needs --library and --app-dir, and takes no option of the configured restore', () => {
    assert.match(
      fromDriveUsage({ yes: false, others: [] }) ?? '',
      /needs --library DIR and --app-dir DIR/,
    );
    assert.match(
      fromDriveUsage({ yes: false, others: [], library: '/l' }) ?? '',
      /needs --app-dir DIR:/,
    );
    assert.match(
      fromDriveUsage({ yes: true, library: '/l', appDir: '/a', others: ['--date', '--path'] }) ??
        '',
      /does not go with --date, --path/,
    );
    assert.equal(fromDriveUsage({ yes: true, library: '/l', appDir: '/a', others: [] }), null);
  });

  test('the command line: exit 2 with the sentence, no configuration read', async () => {
    const missing = await agent('restore', '--from-drive', '--library', '/tmp/x');
    assert.equal(missing.exitCode, 2, missing.stderr);
    assert.match(missing.stderr, /--from-drive needs --app-dir DIR/);
    const mixed = await agent(
      'restore',
      '--from-drive',
      '--library',
      '/l',
      '--app-dir',
      '/a',
      '--date',
      '2026-01-01',
    );
    assert.equal(mixed.exitCode, 2, mixed.stderr);
    assert.match(mixed.stderr, /does not go with --date/);
    const stray = await agent('restore', '--library', '/l');
    assert.equal(stray.exitCode, 2, stray.stderr);
    assert.match(stray.stderr, /go with --from-drive/);
  });

  test('not run from a kit and no --backup-dir: refused (exit 1), saying how to run it', async () => {
    const result = await agent(
      'restore',
      '--from-drive',
      '--library',
      '/tmp/l',
      '--app-dir',
      '/tmp/a',
    );
    assert.equal(result.exitCode, 1, result.stderr + result.stdout);
    assert.match(
      result.stdout,
      /Restore refused: .*not in a backup's restore-kit\/ folder.*--backup-dir/,
    );
  });
});
