import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isAgentError } from '../../../src/errors.js';
import {
  exactImmichVersion,
  guardVersions,
  postgresMajor,
  type VersionFacts,
} from '../../../src/restore/version-guard.js';

const facts = (overrides: Partial<VersionFacts>): VersionFacts => ({
  dumpImmich: 'v2.7.5',
  dumpPostgres: '15.4 (Debian 15.4-1.pgdg120+1)',
  kitImmich: 'v2.7.5',
  kitPostgresMajor: 15,
  ...overrides,
});

function refusal(input: VersionFacts): { message: string; hint: string } {
  try {
    guardVersions(input);
  } catch (error) {
    assert.ok(isAgentError(error, 'VERSION_MISMATCH'), String(error));
    return { message: error.message, hint: error.hint ?? '' };
  }
  assert.fail('the versions were let through');
}

describe('version guard of a restore from the drive', () => {
  test('the same Immich and PostgreSQL pass', () => {
    guardVersions(facts({}));
    guardVersions(facts({ kitImmich: '2.7.5' }));
  });

  test('another Immich than the kit starts is refused, saying what to start first', () => {
    const { message, hint } = refusal(facts({ kitImmich: 'v2.8.0' }));
    assert.match(
      message,
      /^This dump is from Immich 2\.7\.5 with PostgreSQL 15, but the restore kit would start Immich 2\.8\.0\./,
    );
    assert.match(hint, /Start Immich 2\.7\.5 first .*then upgrade/);
  });

  test('a dump of a newer PostgreSQL than the database image is refused', () => {
    const { message, hint } = refusal(facts({ dumpPostgres: '17.2', kitPostgresMajor: 14 }));
    assert.match(
      message,
      /This dump is from Immich 2\.7\.5 with PostgreSQL 17.*runs PostgreSQL 14/,
    );
    assert.match(hint, /Start that version first .*PostgreSQL 17.*then upgrade/);
  });

  test('an older PostgreSQL dump goes into a newer server', () => {
    guardVersions(facts({ dumpPostgres: '14.10', kitPostgresMajor: 17 }));
  });

  test('versions that are not exact or not known are not compared', () => {
    guardVersions(facts({ dumpImmich: 'release', kitImmich: 'v2.8.0' }));
    guardVersions(facts({ dumpImmich: null, dumpPostgres: null }));
    guardVersions(facts({ kitImmich: null, kitPostgresMajor: null }));
  });

  test('version parsing', () => {
    assert.equal(exactImmichVersion('v2.7.5'), '2.7.5');
    // A minor's tag moves with each patch release: not exact.
    assert.equal(exactImmichVersion('v1.133'), null);
    assert.equal(exactImmichVersion('v2.7'), null);
    assert.equal(exactImmichVersion('v2'), null);
    assert.equal(exactImmichVersion('release'), null);
    assert.equal(postgresMajor('17.2 (Debian 17.2-1.pgdg120+1)'), 17);
    assert.equal(postgresMajor('9.6.24'), 9);
    assert.equal(postgresMajor('x'), null);
  });
});
