import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { AgentError } from '../../../src/errors.js';
import { createLogger, maskSecrets } from '../../../src/log/logger.js';

let root: string;

/** A console stand-in that keeps everything written to it. */
function collectingConsole(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/** Lets streams that write on a later tick (pino-pretty) finish. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'logger-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('maskSecrets', () => {
  const cases: { name: string; text: string; secrets: string[]; expected: string }[] = [
    {
      name: 'a secret is replaced by ***',
      text: 'password=s3cret',
      secrets: ['s3cret'],
      expected: 'password=***',
    },
    {
      name: 'every occurrence is replaced',
      text: 's3cret and s3cret again',
      secrets: ['s3cret'],
      expected: '*** and *** again',
    },
    {
      name: 'several secrets are all replaced',
      text: 'user pw1 and token tok2',
      secrets: ['pw1', 'tok2'],
      expected: 'user *** and token ***',
    },
    {
      name: 'a secret with quotes and a backslash is replaced also as it appears inside JSON',
      text: JSON.stringify({ msg: 'pa"ss\\word' }),
      secrets: ['pa"ss\\word'],
      expected: '{"msg":"***"}',
    },
    {
      name: 'a secret with a newline is replaced also as JSON escapes it',
      text: '{"msg":"line\\nbreak"}',
      secrets: ['line\nbreak'],
      expected: '{"msg":"***"}',
    },
    {
      name: 'characters that mean something in a regular expression are taken literally',
      text: 'a.b*c and axbbc',
      secrets: ['a.b*c'],
      expected: '*** and axbbc',
    },
    {
      name: 'an empty secret masks nothing',
      text: 'nothing to hide',
      secrets: [''],
      expected: 'nothing to hide',
    },
    {
      name: 'no secrets mask nothing',
      text: 'nothing to hide',
      secrets: [],
      expected: 'nothing to hide',
    },
  ];
  for (const { name, text, secrets, expected } of cases) {
    test(name, () => {
      assert.equal(maskSecrets(text, secrets), expected);
    });
  }

  test('a secret that contains another secret is masked whole, whatever their order', () => {
    assert.equal(maskSecrets('token=pass-phrase-42', ['pass', 'pass-phrase-42']), 'token=***');
  });
});

describe('createLogger never writes a secret', () => {
  const secret = 's3cret';

  async function logEverywhere(pretty: boolean): Promise<{ file: string; console: string }> {
    const folder = await mkdtemp(path.join(root, 'logs-'));
    const file = path.join(folder, 'nested', 'agent.log');
    const output = collectingConsole();
    const { logger, fileError } = createLogger({
      file,
      level: 'info',
      pretty,
      secrets: [secret],
      console: output.stream,
    });
    assert.equal(fileError, null);
    logger.info(`Connecting with password ${secret}.`);
    logger.info({ step: 'dump', command: `pg_dump --password=${secret}` }, 'Running pg_dump.');
    logger.info({ nested: { deeper: { list: ['a', `x${secret}y`] } } }, 'A nested field.');
    logger.error({ err: new Error(`authentication failed for ${secret}`) }, 'The dump failed.');
    logger.error(
      {
        err: new AgentError('DUMP_FAILED', `pg_dump said ${secret}`, {
          cause: new Error(`inner ${secret}`),
          details: { tried: secret },
        }),
      },
      'An agent error.',
    );
    logger.warn({ quoted: `"${secret}"` }, 'Quoted.');
    logger.debug(`Below the level: ${secret}.`);
    await settle();
    return { file: await readFile(file, 'utf8'), console: output.text() };
  }

  for (const pretty of [false, true]) {
    test(`${pretty ? 'pretty' : 'JSON'} console and JSON file: not in messages, fields, errors or causes`, async () => {
      const written = await logEverywhere(pretty);
      for (const [where, text] of Object.entries(written)) {
        assert.ok(text.includes('Running pg_dump.'), `${where} has the events`);
        assert.ok(text.includes('authentication failed for ***'), `${where} has the error, masked`);
        assert.ok(!text.includes(secret), `${where} does not contain the secret:\n${text}`);
        assert.ok(!text.includes('Below the level'), `${where} has no debug events`);
      }
    });
  }

  test('the file holds one JSON event per line with level names and ISO times', async () => {
    const { file } = await logEverywhere(false);
    const events = file
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(events.length, 6);
    assert.deepEqual(
      events.map((event) => event.level),
      ['info', 'info', 'info', 'error', 'error', 'warn'],
    );
    for (const event of events) assert.match(String(event.time), /^\d{4}-\d\d-\d\dT.*Z$/);
    assert.equal(events[0]?.msg, 'Connecting with password ***.');
    assert.equal(events[1]?.command, 'pg_dump --password=***');
    assert.deepEqual(events[2]?.nested, { deeper: { list: ['a', 'x***y'] } });
  });

  test('a log file that cannot be opened is reported, and the console still gets the events', async () => {
    const folder = await mkdtemp(path.join(root, 'blocked-'));
    const file = path.join(folder, 'is-a-folder');
    await mkdir(file);
    const output = collectingConsole();
    const { logger, fileError } = createLogger({
      file,
      level: 'info',
      pretty: false,
      secrets: [secret],
      console: output.stream,
    });
    assert.ok(fileError instanceof Error);
    logger.info(`Still logging ${secret}.`);
    await settle();
    assert.match(output.text(), /"msg":"Still logging \*\*\*\."/);
  });

  test('without a file only the console is written', async () => {
    const output = collectingConsole();
    const { logger, fileError } = createLogger({
      file: null,
      level: 'debug',
      pretty: false,
      secrets: [],
      console: output.stream,
    });
    assert.equal(fileError, null);
    logger.debug({ runId: 'r1', step: 'sync' }, 'Copied 3 files.');
    await settle();
    const event = JSON.parse(output.text().trim()) as Record<string, unknown>;
    assert.equal(event.msg, 'Copied 3 files.');
    assert.equal(event.level, 'debug');
    assert.equal(event.runId, 'r1');
    assert.equal(event.pid, process.pid);
  });

  test('while a run is current, every logger made before it tags its events with the runId', async () => {
    const output = collectingConsole();
    const { logger, runScope } = createLogger({
      file: null,
      level: 'debug',
      pretty: false,
      secrets: [],
      console: output.stream,
    });
    const gatewayLog = logger.child({ step: 'sync' }); // as the process gateway's, made earlier
    runScope.enter('20261126T120000Z-abc123');
    try {
      gatewayLog.debug('Running rsync.');
      logger.warn({ step: 'signal' }, 'Received SIGTERM.');
    } finally {
      runScope.leave();
    }
    logger.info({ step: 'daemon' }, 'Between runs.');
    await settle();
    const events = output
      .text()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      events.map((event) => event.runId),
      ['20261126T120000Z-abc123', '20261126T120000Z-abc123', undefined],
    );
    assert.equal(
      output
        .text()
        .split('\n')[0]
        ?.match(/"runId"/g)?.length,
      1,
      'runId once per line',
    );
  });

  test('a field logged once does not stick to the lines after it (the mixin’s object is fresh)', async () => {
    const output = collectingConsole();
    const { logger, runScope } = createLogger({
      file: null,
      level: 'debug',
      pretty: false,
      secrets: [],
      console: output.stream,
    });
    runScope.enter('20261126T120000Z-abc123');
    logger.warn({ step: 'inhibit', exitCode: 1, err: new Error('no logind') }, 'No inhibitor.');
    logger.info({ step: 'finish' }, 'Backup finished.');
    runScope.leave();
    await settle();
    const [first, second] = output
      .text()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(first?.exitCode, 1);
    assert.deepEqual(
      Object.keys(second ?? {}).sort(),
      ['level', 'msg', 'pid', 'runId', 'step', 'time'],
      'only its own fields and the runId',
    );
  });

  test('each logger has its own run scope: one command’s run does not tag another’s lines', async () => {
    const one = collectingConsole();
    const two = collectingConsole();
    const options = { file: null, level: 'info' as const, pretty: false, secrets: [] };
    const first = createLogger({ ...options, console: one.stream });
    const second = createLogger({ ...options, console: two.stream });
    first.runScope.enter('run-one');
    second.logger.info('Other.');
    first.logger.info('Mine.');
    first.runScope.leave();
    await settle();
    assert.equal((JSON.parse(two.text().trim()) as Record<string, unknown>).runId, undefined);
    assert.equal((JSON.parse(one.text().trim()) as Record<string, unknown>).runId, 'run-one');
  });
});
