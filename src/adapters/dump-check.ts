import path from 'node:path';
import { createGunzip, type Gunzip } from 'node:zlib';
import { AgentError } from '../errors.js';

import type { DumpFormat } from '../model/dump-format.js';

export type { DumpFormat } from '../model/dump-format.js';

/** pg_dump ends every complete plain-format dump with this comment; pg_dumpall a cluster dump with the second. */
export const dumpTrailer = '-- PostgreSQL database dump complete';
export const clusterDumpTrailer = '-- PostgreSQL database cluster dump complete';

/**
 * Immich's tables every dump of its database has: `asset` and `user` (`assets` and `users`
 * before Immich renamed them, see the reference schema), as pg_dump writes them
 * (`CREATE TABLE public.asset (`, `CREATE TABLE public."user" (`; older pg_dump without
 * `public.`). A dump without both is of another database.
 */
export const immichTableKinds = ['asset', 'user'] as const;
const immichTableLine = /^CREATE TABLE (?:public\.)?"?(assets?|users?)"? \(/gm;

/** What a complete dump's check found. */
export interface DumpCheckResult {
  uncompressedBytes: number;
  format: DumpFormat;
  immichTables: string[];
}

/**
 * Checks a dump's plain SQL as it goes by, in chunks cut anywhere: the SQL must be non-empty and
 * pg_dump's completion trailer must be in its last few kilobytes (newer pg_dump versions write a
 * `\unrestrict` line after it). Tells a dump of one database (pg_dump, what the agent makes) from
 * a whole-cluster dump (pg_dumpall, what the old scripts made), and notes Immich's tables. The
 * agent's dump step feeds it the SQL on its way into the compressor, so a dump is checked
 * without being decompressed again; DumpCheck feeds it a .sql.gz read back.
 */
export class PlainDumpCheck {
  private head = Buffer.alloc(0);
  /** The last chunks, at least `tailBytes` of them together (views, not copies). */
  private tail: Buffer[] = [];
  private tailLength = 0;
  private uncompressedBytes = 0;
  private readonly tables = new Set<string>();
  private tableCarry = '';
  private dataReached = false;

  constructor(private readonly name: string) {}

  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.uncompressedBytes += chunk.length;
    this.findImmichTables(chunk);
    if (this.head.length < 4096) this.head = Buffer.concat([this.head, chunk]).subarray(0, 4096);
    this.tail.push(chunk);
    this.tailLength += chunk.length;
    while (this.tailLength - (this.tail[0] as Buffer).length >= tailBytes) {
      this.tailLength -= (this.tail.shift() as Buffer).length;
    }
  }

  /**
   * Notes Immich's main tables as their CREATE TABLE lines go by. pg_dump writes every table
   * before the first row of data (`COPY …`): the search stops there, so rows that look like
   * SQL are not taken for tables, and a real dump is searched only in its first megabytes. A
   * line cut between two chunks is joined.
   */
  private findImmichTables(chunk: Buffer): void {
    if (this.dataReached || immichTableKinds.every((kind) => this.tables.has(kind))) return;
    let text = this.tableCarry + chunk.toString('latin1');
    const data = /^COPY /m.exec(text);
    if (data !== null) {
      text = text.slice(0, data.index);
      this.dataReached = true;
    }
    for (const match of text.matchAll(immichTableLine)) {
      this.tables.add((match[1] as string).replace(/s$/, ''));
    }
    this.tableCarry = text.slice(-64);
  }

  /** The figures of a complete dump; DUMP_FAILED if it is empty or its trailer is missing. */
  end(): DumpCheckResult {
    if (this.uncompressedBytes === 0) {
      throw new AgentError('DUMP_FAILED', `The dump ${this.name} is empty.`, { step: 'dump' });
    }
    const format: DumpFormat = this.head
      .toString('utf8')
      .includes('PostgreSQL database cluster dump')
      ? 'pg_dumpall'
      : 'pg_dump';
    const trailer = format === 'pg_dumpall' ? clusterDumpTrailer : dumpTrailer;
    const tail = Buffer.concat(this.tail).subarray(-tailBytes);
    if (!tail.toString('utf8').includes(trailer)) {
      throw new AgentError(
        'DUMP_FAILED',
        `The dump ${this.name} is incomplete: ${format}’s completion trailer is missing.`,
        { step: 'dump' },
      );
    }
    return {
      uncompressedBytes: this.uncompressedBytes,
      format,
      immichTables: immichTableKinds.filter((kind) => this.tables.has(kind)),
    };
  }
}

/** How much of a dump's end is searched for the trailer. */
const tailBytes = 8192;

/**
 * Checks a gzipped dump as its bytes go by (a dump read back from the drive): the gzip stream
 * must be intact, and its SQL pass PlainDumpCheck. Decompressed on zlib's worker threads.
 */
export class DumpCheck {
  private readonly gunzip: Gunzip = createGunzip();
  private readonly finished: Promise<void>;
  private readonly plain: PlainDumpCheck;

  constructor(private readonly name: string) {
    this.plain = new PlainDumpCheck(name);
    this.gunzip.on('data', (chunk: Buffer) => this.plain.write(chunk));
    this.finished = new Promise((resolve, reject) => {
      this.gunzip.on('end', resolve);
      this.gunzip.on('error', reject);
    });
    this.finished.catch(() => undefined); // reported by end()
  }

  /** Feeds compressed bytes, waiting while the decompressor is behind (backpressure). */
  async write(chunk: Buffer): Promise<void> {
    if (!this.gunzip.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => (this.gunzip.off('error', onError), resolve());
        const onError = (error: Error): void => (this.gunzip.off('drain', onDrain), reject(error));
        this.gunzip.once('drain', onDrain);
        this.gunzip.once('error', onError);
      });
    }
  }

  async end(): Promise<DumpCheckResult> {
    this.gunzip.end();
    try {
      await this.finished;
    } catch (error) {
      throw new AgentError(
        'DUMP_FAILED',
        `The dump ${this.name} is damaged: ${(error as Error).message}.`,
        { step: 'dump', cause: error },
      );
    }
    return this.plain.end();
  }

  destroy(): void {
    this.gunzip.destroy();
  }
}

export function dumpCheckFor(file: string): DumpCheck {
  return new DumpCheck(path.basename(file));
}
