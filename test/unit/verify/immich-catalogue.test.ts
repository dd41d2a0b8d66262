import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  hasContentChecksum,
  libraryPathOf,
  type CatalogueAsset,
} from '../../../src/verify/immich-catalogue.js';

describe('an Immich path becomes a library path', () => {
  test('the current compose file mounts UPLOAD_LOCATION at /data', () => {
    assert.equal(
      libraryPathOf('/data/library/admin/2024/2024-06-01/IMG_0001.jpg'),
      'library/admin/2024/2024-06-01/IMG_0001.jpg',
    );
    assert.equal(libraryPathOf('/data/upload/u/ab/cd/x.jpg', ['/data']), 'upload/u/ab/cd/x.jpg');
  });

  test('older compose files mount it at /usr/src/app/upload; very old Immich stored upload/…', () => {
    assert.equal(libraryPathOf('/usr/src/app/upload/library/a b/"q".jpg'), 'library/a b/"q".jpg');
    assert.equal(libraryPathOf('upload/library/admin/IMG.jpg'), 'library/admin/IMG.jpg');
  });

  test('names with quotes, newlines, $(…) and emoji stay as they are', () => {
    const name = "/data/library/admin/2024/$(touch PWNED) 'x'\n📷.jpg";
    assert.equal(libraryPathOf(name), name.slice('/data/'.length));
  });

  test('external libraries, other mounts and unclean paths are outside the library', () => {
    for (const outside of [
      '/mnt/external/Photos 2019/Trip 1/DSC_1.JPG',
      '/data',
      '/data/',
      '/data/library/',
      '/database/x.jpg',
      '/data/../etc/shadow',
      '/data/library/./x.jpg',
      'library/admin/x.jpg',
      'upload/../../etc/shadow',
      '/data/a\0b',
      '',
    ])
      assert.equal(libraryPathOf(outside), null, JSON.stringify(outside));
    assert.equal(libraryPathOf('/data/library/x.jpg', ['/usr/src/app/upload']), null);
  });
});

describe('which checksums are of the content', () => {
  const asset = (change: Partial<CatalogueAsset>): CatalogueAsset => ({
    id: 'a',
    originalPath: '/data/library/x.jpg',
    checksum: '0'.repeat(40),
    algorithm: 'sha1',
    isExternal: false,
    trashed: false,
    ...change,
  });
  test('sha1 is, sha1-path is not, and before the column only non-external assets are', () => {
    assert.equal(hasContentChecksum(asset({})), true);
    assert.equal(hasContentChecksum(asset({ algorithm: 'sha1-path', isExternal: true })), false);
    assert.equal(hasContentChecksum(asset({ algorithm: null })), true);
    assert.equal(hasContentChecksum(asset({ algorithm: null, isExternal: true })), false);
    assert.equal(hasContentChecksum(asset({ checksum: null })), false);
  });
});
