import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { groupMemberUids } from '../../../src/config/group-members.js';

const passwd = [
  'root:x:0:0:root:/root:/bin/bash',
  'gonzalo:x:1000:1000:Gonzalo:/home/gonzalo:/bin/bash',
  'maria:x:1001:1001::/home/maria:/bin/bash',
  'backup:x:34:34:backup:/var/backups:/usr/sbin/nologin',
  '',
].join('\n');
const group = [
  'root:x:0:',
  'gonzalo:x:1000:',
  'maria:x:1001:',
  'family:x:1002:gonzalo,maria',
  'docker:x:998:gonzalo',
  'ghosts:x:1003:nobody-known',
  '',
].join('\n');

describe('who is in a group, from /etc/passwd and /etc/group', () => {
  test('a user’s private group holds only that user', () => {
    assert.deepEqual(groupMemberUids(1000, passwd, group), new Set([1000]));
  });
  test('root’s group holds root', () => {
    assert.deepEqual(groupMemberUids(0, passwd, group), new Set([0]));
  });
  test('a shared group holds every listed member', () => {
    assert.deepEqual(groupMemberUids(1002, passwd, group), new Set([1000, 1001]));
  });
  test('a group that is not in /etc/group is unknown (null)', () => {
    assert.equal(groupMemberUids(4242, passwd, group), null);
  });
  test('a group listing a user not in /etc/passwd is unknown (null)', () => {
    assert.equal(groupMemberUids(1003, passwd, group), null);
  });
});
