import { execa } from 'execa';

/**
 * Everything a restore must bring back, in a form two databases can be compared by: every table of
 * every non-system schema (row count and an md5 over all rows), the schema as pg_dump prints it,
 * the extensions, the `public` schema itself, the sequences, the database's own settings, and
 * whether each HNSW index still serves a nearest-neighbour query.
 */
export interface DatabaseSnapshot {
  /** "schema.table" (materialised views too) → row count and an md5 over its rows' md5s, sorted. */
  tables: Record<string, { rows: number; md5: string }>;
  /** `pg_dump --schema-only`, without comments, blank lines and the random `\restrict` keys. */
  schema: string;
  /** Extension → "version in schema". */
  extensions: Record<string, string>;
  /** pg_dump leaves `public` to the target (initdb makes it): owner, ACL and comment must match. */
  publicSchema: { owner: string; acl: string | null; comment: string | null } | null;
  /** "schema.sequence" → last_value and is_called. */
  sequences: Record<string, { lastValue: string; isCalled: boolean }>;
  /** ALTER DATABASE … SET values (pg_db_role_setting of this database), e.g. Immich's search_path. */
  databaseSettings: string[];
  /** HNSW index → is it used for ORDER BY embedding <=> … LIMIT (with enable_seqscan off), and the plan. */
  nearestNeighbour: Record<string, { table: string; used: boolean; plan: string }>;
}

export interface SnapshotOptions {
  user?: string;
  database?: string;
}

const userSchemas = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`;

/**
 * One line of JSON per fact. Text forms are fixed by the session settings first (time zone,
 * float digits, bytea format), so two servers print the same rows the same way. Each row is
 * hashed on its own and the hashes sorted: no table needs an ORDER BY key, and nothing holds a
 * whole table's text in memory.
 */
const factsQuery = String.raw`
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 1;
SET bytea_output = 'hex';
SELECT format($f$SELECT json_build_object('kind', 'table', 'name', %L, 'rows', count(*), 'md5', md5(coalesce(string_agg(md5(t::text), '' ORDER BY md5(t::text)), ''))) FROM %I.%I AS t$f$,
  n.nspname || '.' || c.relname, n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND ${userSchemas} ORDER BY n.nspname, c.relname \gexec
SELECT format($f$SELECT json_build_object('kind', 'sequence', 'name', %L, 'lastValue', last_value::text, 'isCalled', is_called) FROM %I.%I$f$,
  n.nspname || '.' || c.relname, n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' AND ${userSchemas} ORDER BY n.nspname, c.relname \gexec
SELECT json_build_object('kind', 'extension', 'name', extname, 'version', extversion || ' in ' || extnamespace::regnamespace::text)
FROM pg_extension ORDER BY extname;
SELECT json_build_object('kind', 'publicSchema', 'owner', nspowner::regrole::text, 'acl', nspacl::text, 'comment', obj_description(oid, 'pg_namespace'))
FROM pg_namespace WHERE nspname = 'public';
SELECT json_build_object('kind', 'databaseSetting', 'value', CASE WHEN setrole = 0 THEN '' ELSE setrole::regrole::text || ': ' END || setting)
FROM pg_db_role_setting, unnest(setconfig) AS setting
WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY setting;
`;

/**
 * For each HNSW index: a marker line, then the plan of a nearest-neighbour query on its table
 * (\gexec runs a row's cells one after the other).
 */
const plansQuery = String.raw`
SET enable_seqscan = off;
SELECT format($f$SELECT 'plan ' || %L || ' ' || %L$f$, i.relname, n.nspname || '.' || t.relname),
  format($f$EXPLAIN (COSTS OFF) SELECT 1 FROM %I.%I ORDER BY %I %s (SELECT %I FROM %I.%I LIMIT 1) LIMIT 5$f$,
  n.nspname, t.relname, a.attname,
  CASE WHEN o.opcname LIKE '%cosine%' THEN '<=>' WHEN o.opcname LIKE '%ip%' THEN '<#>' ELSE '<->' END,
  a.attname, n.nspname, t.relname)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam AND am.amname = 'hnsw'
JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
JOIN pg_opclass o ON o.oid = x.indclass[0]
ORDER BY i.relname \gexec
`;

export async function databaseSnapshot(
  container: string,
  options: SnapshotOptions = {},
): Promise<DatabaseSnapshot> {
  const user = options.user ?? 'postgres';
  const database = options.database ?? 'immich';
  const psql = (sql: string) =>
    execa(
      'docker',
      ['exec', '-i', container, 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'].concat([
        `--username=${user}`,
        `--dbname=${database}`,
      ]),
      { input: sql },
    );
  const [facts, plans, dump] = await Promise.all([
    psql(factsQuery),
    psql(plansQuery),
    execa('docker', [
      'exec',
      container,
      'pg_dump',
      '--schema-only',
      `--username=${user}`,
      `--dbname=${database}`,
    ]),
  ]);
  const snapshot: DatabaseSnapshot = {
    tables: {},
    schema: normaliseSchemaDump(dump.stdout),
    extensions: {},
    publicSchema: null,
    sequences: {},
    databaseSettings: [],
    nearestNeighbour: {},
  };
  for (const line of facts.stdout.split('\n').filter(Boolean)) {
    const fact = JSON.parse(line) as Record<string, unknown>;
    const name = String(fact.name);
    if (fact.kind === 'table')
      snapshot.tables[name] = { rows: Number(fact.rows), md5: String(fact.md5) };
    else if (fact.kind === 'sequence')
      snapshot.sequences[name] = {
        lastValue: String(fact.lastValue),
        isCalled: fact.isCalled === true,
      };
    else if (fact.kind === 'extension') snapshot.extensions[name] = String(fact.version);
    else if (fact.kind === 'publicSchema')
      snapshot.publicSchema = {
        owner: String(fact.owner),
        acl: (fact.acl as string | null) ?? null,
        comment: (fact.comment as string | null) ?? null,
      };
    else if (fact.kind === 'databaseSetting') snapshot.databaseSettings.push(String(fact.value));
  }
  let current: { index: string; table: string; lines: string[] } | null = null;
  const finish = () => {
    if (current === null) return;
    const plan = current.lines.join('\n');
    snapshot.nearestNeighbour[current.index] = {
      table: current.table,
      used: plan.includes(`Index Scan using ${current.index} `),
      plan,
    };
  };
  for (const line of plans.stdout.split('\n')) {
    const marker = /^plan (\S+) (\S+)$/.exec(line);
    if (marker) {
      finish();
      current = { index: marker[1] as string, table: marker[2] as string, lines: [] };
    } else if (current && line.trim()) current.lines.push(line);
  }
  finish();
  return snapshot;
}

/**
 * pg_dump's comments carry versions and object ids' order, and since PostgreSQL 17.6 a
 * `\restrict <random key>` / `\unrestrict` pair guards the script: none of it is the schema.
 */
export function normaliseSchemaDump(dump: string): string {
  return dump
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('--'))
    .filter((line) => !/^\\(un)?restrict\b/.test(line))
    .join('\n');
}

/** Every difference between two snapshots, in words, for an assertion's message; [] if none. */
export function diffSnapshots(
  before: DatabaseSnapshot,
  after: DatabaseSnapshot,
  options: { ignore?: (keyof DatabaseSnapshot)[] } = {},
): string[] {
  const ignored = new Set(options.ignore ?? []);
  const differences: string[] = [];
  const compare = <T>(
    what: keyof DatabaseSnapshot,
    label: string,
    a: Record<string, T>,
    b: Record<string, T>,
    describe: (name: string, x: T, y: T) => string | null,
  ) => {
    if (ignored.has(what)) return;
    for (const name of Object.keys(a).sort()) {
      const y = b[name];
      if (y === undefined) differences.push(`${label} ${name} is missing`);
      else {
        const difference = describe(name, a[name] as T, y);
        if (difference) differences.push(difference);
      }
    }
    for (const name of Object.keys(b).sort())
      if (!(name in a)) differences.push(`${label} ${name} is new`);
  };
  compare('tables', 'table', before.tables, after.tables, (name, a, b) =>
    a.rows !== b.rows
      ? `table ${name} has ${b.rows} rows instead of ${a.rows}`
      : a.md5 !== b.md5
        ? `table ${name} has its ${a.rows} rows, but their content differs`
        : null,
  );
  compare('extensions', 'extension', before.extensions, after.extensions, (name, a, b) =>
    a !== b ? `extension ${name} is ${b} instead of ${a}` : null,
  );
  compare('sequences', 'sequence', before.sequences, after.sequences, (name, a, b) =>
    a.lastValue !== b.lastValue || a.isCalled !== b.isCalled
      ? `sequence ${name} is at ${b.lastValue} (called: ${b.isCalled}) instead of ${a.lastValue} (called: ${a.isCalled})`
      : null,
  );
  compare(
    'nearestNeighbour',
    'HNSW index',
    before.nearestNeighbour,
    after.nearestNeighbour,
    (name, a, b) =>
      a.used !== b.used
        ? `HNSW index ${name} on ${b.table} is ${b.used ? 'now' : 'no longer'} used for a nearest-neighbour query:\n${b.plan}`
        : null,
  );
  if (!ignored.has('publicSchema')) {
    for (const key of ['owner', 'acl', 'comment'] as const) {
      const a = before.publicSchema?.[key] ?? null;
      const b = after.publicSchema?.[key] ?? null;
      if (a !== b) differences.push(`schema public's ${key} is ${b} instead of ${a}`);
    }
  }
  if (!ignored.has('databaseSettings')) {
    for (const setting of before.databaseSettings)
      if (!after.databaseSettings.includes(setting))
        differences.push(`database setting ${setting} is missing`);
    for (const setting of after.databaseSettings)
      if (!before.databaseSettings.includes(setting))
        differences.push(`database setting ${setting} is new`);
  }
  if (!ignored.has('schema') && before.schema !== after.schema)
    differences.push(`the schema differs:\n${lineDiff(before.schema, after.schema)}`);
  return differences;
}

/** The lines only one side has (as a multiset), at most 20 of each, as `-`/`+` lines. */
function lineDiff(before: string, after: string): string {
  const count = (text: string) => {
    const counts = new Map<string, number>();
    for (const line of text.split('\n')) counts.set(line, (counts.get(line) ?? 0) + 1);
    return counts;
  };
  const a = count(before);
  const b = count(after);
  const only = (x: Map<string, number>, y: Map<string, number>) =>
    [...x].flatMap(([line, n]) => Array<string>(Math.max(0, n - (y.get(line) ?? 0))).fill(line));
  const removed = only(a, b);
  const added = only(b, a);
  const lines = [
    ...removed.slice(0, 20).map((line) => `- ${line}`),
    ...(removed.length > 20 ? [`- … ${removed.length - 20} more`] : []),
    ...added.slice(0, 20).map((line) => `+ ${line}`),
    ...(added.length > 20 ? [`+ … ${added.length - 20} more`] : []),
  ];
  return lines.length > 0 ? lines.join('\n') : '(the same lines in another order)';
}
