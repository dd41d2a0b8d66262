import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { countItem, emptyChanges } from '../../../src/adapters/rsync-output.js';
import { massChangeVerdict } from '../../../src/policy/mass-change.js';

const limits = { maxChangedPercent: 5, maxMissingPercent: 20 };

describe('massChangeVerdict', () => {
  test('a few replaced files among many pass', () => {
    const verdict = massChangeVerdict(
      { libraryFiles: 1000, newFiles: 10, replacedFiles: 3, missingFiles: 0 },
      limits,
    );
    assert.equal(verdict.refuse, false);
    assert.equal(verdict.backedUpFiles, 990);
    assert.equal(verdict.changedPercent, 0.3);
  });

  test('30% of the backed-up files replaced is refused, with the numbers in the reason', () => {
    const verdict = massChangeVerdict(
      { libraryFiles: 1000, newFiles: 0, replacedFiles: 300, missingFiles: 0 },
      limits,
    );
    assert.equal(verdict.refuse, true);
    assert.equal(verdict.changedPercent, 30);
    assert.match(verdict.reason, /300 of the 1,000 backed-up files \(30%\) would be replaced/);
  });

  test('exactly at the limit passes; just above it is refused', () => {
    const at = { libraryFiles: 1000, newFiles: 0, replacedFiles: 50, missingFiles: 0 };
    assert.equal(massChangeVerdict(at, limits).refuse, false);
    assert.equal(massChangeVerdict({ ...at, replacedFiles: 51 }, limits).refuse, true);
  });

  test('a library that lost a quarter of what the backup has is refused', () => {
    const verdict = massChangeVerdict(
      { libraryFiles: 750, newFiles: 0, replacedFiles: 0, missingFiles: 250 },
      limits,
    );
    assert.equal(verdict.backedUpFiles, 1000);
    assert.equal(verdict.missingPercent, 25);
    assert.equal(verdict.refuse, true);
    assert.match(
      verdict.reason,
      /250 of them \(25%\) are gone from the library since the last backup/,
    );
  });

  test('files already missing at the last good backup do not count again', () => {
    // Years of emptied trash: 300 gone in all, 280 of them already at the last backup.
    const count = { libraryFiles: 700, newFiles: 0, replacedFiles: 0, missingFiles: 300 };
    assert.equal(massChangeVerdict(count, limits).refuse, true, 'without the baseline');
    const verdict = massChangeVerdict(count, limits, 280);
    assert.equal(verdict.refuse, false);
    assert.equal(verdict.newlyMissing, 20);
    assert.equal(verdict.missingPercent, 2);
  });

  test('files that came back since (fewer missing than before) count as none missing', () => {
    const verdict = massChangeVerdict(
      { libraryFiles: 900, newFiles: 0, replacedFiles: 0, missingFiles: 100 },
      limits,
      150,
    );
    assert.equal(verdict.newlyMissing, 0);
    assert.equal(verdict.refuse, false);
  });

  test('an empty backup (first run) is never refused', () => {
    const verdict = massChangeVerdict(
      { libraryFiles: 500, newFiles: 500, replacedFiles: 0, missingFiles: 0 },
      limits,
    );
    assert.equal(verdict.backedUpFiles, 0);
    assert.equal(verdict.refuse, false);
  });
});

describe("countItem reads rsync's itemized lines", () => {
  test('new, replaced, deleted, and lines that are not changes to files', () => {
    const changes = emptyChanges();
    const lines = [
      '>f+++++++++ 10 upload/new photo.jpg',
      '>f.st...... 1234 upload/changed $(x).jpg',
      'cf.st...... 99 upload/changed-local.jpg',
      '*deleting   0 upload/gone.jpg',
      '*deleting   0 upload/empty-folder/',
      'cd+++++++++ 4096 upload/new-folder/',
      '.f..t...... 5 upload/touched.jpg',
      '.d..t...... 4096 upload/',
    ];
    for (const line of lines) assert.equal(countItem(line, changes), true, line);
    assert.equal(countItem('sent 1,234 bytes  received 56 bytes', changes), false);
    assert.deepEqual(
      {
        created: changes.createdFiles,
        replaced: changes.replacedFiles,
        replacedBytes: changes.replacedBytes,
        missing: changes.missingFiles,
      },
      { created: 1, replaced: 2, replacedBytes: 1333, missing: 1 },
    );
    assert.deepEqual(changes.examples.replaced, [
      'upload/changed $(x).jpg',
      'upload/changed-local.jpg',
    ]);
    assert.deepEqual(changes.examples.missing, ['upload/gone.jpg']);
  });
});
