import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AgentError, type ErrorCode } from '../../../src/errors.js';
import type { Outcome } from '../../../src/history/record.js';
import { decideOutcome, exitCodeFor } from '../../../src/policy/outcome.js';

const error = (code: ErrorCode): AgentError => new AgentError(code, `${code} happened.`);

describe('decideOutcome and exitCodeFor turn what happened into a record and an exit code', () => {
  const cases: {
    name: string;
    primary: ErrorCode | null;
    cleanup?: ErrorCode[];
    warnings?: string[];
    outcome: Outcome;
    reason: string | null;
    exitCode: number;
  }[] = [
    {
      name: 'a run without errors or warnings is a success, exit 0',
      primary: null,
      outcome: 'success',
      reason: null,
      exitCode: 0,
    },
    {
      name: 'a run that was not due is skipped, exit 0',
      primary: 'NOT_DUE',
      outcome: 'skipped',
      reason: 'NOT_DUE',
      exitCode: 0,
    },
    {
      name: 'a run without the drive is skipped, exit 75 to retry later',
      primary: 'DRIVE_ABSENT',
      outcome: 'skipped',
      reason: 'DRIVE_ABSENT',
      exitCode: 75,
    },
    {
      name: 'a run while another holds the lock is skipped, exit 75 to retry later',
      primary: 'ALREADY_RUNNING',
      outcome: 'skipped',
      reason: 'ALREADY_RUNNING',
      exitCode: 75,
    },
    {
      name: 'an interrupted run is interrupted, exit 1',
      primary: 'INTERRUPTED',
      outcome: 'interrupted',
      reason: 'INTERRUPTED',
      exitCode: 1,
    },
    {
      name: 'a failed dump fails the run, exit 1',
      primary: 'DUMP_FAILED',
      outcome: 'failed',
      reason: 'DUMP_FAILED',
      exitCode: 1,
    },
    {
      name: 'a wrong drive fails the run, exit 1',
      primary: 'DRIVE_MISMATCH',
      outcome: 'failed',
      reason: 'DRIVE_MISMATCH',
      exitCode: 1,
    },
    {
      name: 'a full drive fails the run, exit 1',
      primary: 'NO_SPACE',
      outcome: 'failed',
      reason: 'NO_SPACE',
      exitCode: 1,
    },
    {
      name: 'warnings alone make a warning, exit 0',
      primary: null,
      warnings: ['rsync: some source files vanished'],
      outcome: 'warning',
      reason: null,
      exitCode: 0,
    },
    {
      name: 'a cleanup error after a clean run makes a warning named after it, exit 0',
      primary: null,
      cleanup: ['MOUNT_FAILED'],
      outcome: 'warning',
      reason: 'MOUNT_FAILED',
      exitCode: 0,
    },
    {
      name: 'a server that would not start again outweighs a clean run',
      primary: null,
      cleanup: ['SERVER_START_FAILED'],
      outcome: 'failed',
      reason: 'SERVER_START_FAILED',
      exitCode: 1,
    },
    {
      name: 'a server that would not start again outweighs a failed dump',
      primary: 'DUMP_FAILED',
      cleanup: ['SERVER_START_FAILED'],
      outcome: 'failed',
      reason: 'SERVER_START_FAILED',
      exitCode: 1,
    },
    {
      name: 'a server that would not start again outweighs an interruption',
      primary: 'INTERRUPTED',
      cleanup: ['SERVER_START_FAILED'],
      outcome: 'failed',
      reason: 'SERVER_START_FAILED',
      exitCode: 1,
    },
    {
      name: 'a server that would not start again outweighs a skip and other cleanup errors',
      primary: 'DRIVE_ABSENT',
      cleanup: ['MOUNT_FAILED', 'SERVER_START_FAILED'],
      warnings: ['a warning'],
      outcome: 'failed',
      reason: 'SERVER_START_FAILED',
      exitCode: 1,
    },
    {
      name: 'the first error outweighs warnings and other cleanup errors',
      primary: 'SYNC_FAILED',
      cleanup: ['MOUNT_FAILED'],
      warnings: ['a warning'],
      outcome: 'failed',
      reason: 'SYNC_FAILED',
      exitCode: 1,
    },
  ];

  for (const { name, primary, cleanup = [], warnings = [], outcome, reason, exitCode } of cases) {
    test(name, () => {
      const primaryError = primary === null ? null : error(primary);
      const cleanupErrors = cleanup.map(error);
      const verdict = decideOutcome(primaryError, cleanupErrors, warnings);
      assert.equal(verdict.outcome, outcome);
      assert.equal(verdict.reason, reason);
      assert.equal(verdict.error?.code ?? null, reason, 'the error is the one that decided');
      assert.equal(exitCodeFor(verdict.outcome, verdict.reason), exitCode);
    });
  }
});

describe('exitCodeFor follows the contract for every outcome', () => {
  const cases: { outcome: Outcome; reason: string | null; exitCode: number }[] = [
    { outcome: 'success', reason: null, exitCode: 0 },
    { outcome: 'warning', reason: null, exitCode: 0 },
    { outcome: 'warning', reason: 'MOUNT_FAILED', exitCode: 0 },
    { outcome: 'skipped', reason: 'NOT_DUE', exitCode: 0 },
    { outcome: 'skipped', reason: null, exitCode: 0 },
    { outcome: 'skipped', reason: 'DRIVE_ABSENT', exitCode: 75 },
    { outcome: 'skipped', reason: 'ALREADY_RUNNING', exitCode: 75 },
    { outcome: 'failed', reason: 'DUMP_FAILED', exitCode: 1 },
    { outcome: 'failed', reason: 'DRIVE_NOT_TRUSTED', exitCode: 1 },
    { outcome: 'failed', reason: 'CONFIG_INSECURE', exitCode: 2 },
    { outcome: 'failed', reason: 'CONFIG_INVALID', exitCode: 2 },
    { outcome: 'interrupted', reason: 'INTERRUPTED', exitCode: 1 },
  ];
  for (const { outcome, reason, exitCode } of cases) {
    test(`${outcome} with reason ${String(reason)} exits ${exitCode}`, () => {
      assert.equal(exitCodeFor(outcome, reason), exitCode);
    });
  }
});
