/** A dump's kind: `pg_dump` of one database (the agent's, Immich ≥ 2.5's), or a `pg_dumpall` cluster dump (the old scripts'). */
export type DumpFormat = 'pg_dump' | 'pg_dumpall';
