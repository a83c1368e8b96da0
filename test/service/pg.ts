// PostgreSQL for tests: the machine's server (127.0.0.1:5432, trust auth, database
// `test`; CORTEX_TEST_DATABASE_URL overrides), one throw-away schema per store so that
// test files and runs never collide. An unreachable server FAILS the tests that need it
// with a message saying so; nothing is skipped.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresStore, type PostgresStoreOptions } from '../../service/src/store/postgres/postgres-store.ts';

export const TEST_DATABASE_URL = process.env.CORTEX_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const created = new Set<string>();

/** A schema name no other test (or run) uses: cortex_t_<prefix>_<pid>_<random>. */
export function freshSchemaName(prefix = 'store'): string {
  const name = `cortex_t_${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  created.add(name);
  return name;
}

function unreachable(error: unknown): Error {
  return new Error(
    `PostgreSQL at ${TEST_DATABASE_URL.replace(/\/\/[^@]*@/, '//…@')} is not reachable (${(error as Error).message}). ` +
      'These tests need the machine\'s PostgreSQL (127.0.0.1:5432, trust auth, database "test"); ' +
      'start it, or point CORTEX_TEST_DATABASE_URL at one.',
    { cause: error },
  );
}

/** Throws a clear error when the server cannot be reached. */
export async function assertPostgresReachable(): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw unreachable(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A migrated store in a new schema (dropped by dropSchemas). */
export async function openTestStore(options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const schema = options.schema ?? freshSchemaName();
  created.add(schema);
  try {
    return await PostgresStore.open(TEST_DATABASE_URL, { ...options, schema });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === '3D000' || code === '28000') throw unreachable(error);
    throw error;
  }
}

/** A plain pool on the test database with search_path set to `schema`. */
export function schemaPool(schema: string, max = 4): pg.Pool {
  const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max, options: `-c search_path=${schema}` });
  pool.on('error', () => undefined);
  return pool;
}

/** Drops every schema this process created. */
export async function dropSchemas(): Promise<void> {
  if (created.size === 0) return;
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  try {
    await client.connect();
    for (const schema of created) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    created.clear();
  } finally {
    await client.end().catch(() => undefined);
  }
}
