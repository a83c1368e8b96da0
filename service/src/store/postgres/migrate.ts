// Applies the embedded migrations that a schema has not seen yet. Replicas may start at
// the same moment, so every step runs in a transaction that first takes a transaction-
// scoped advisory lock keyed by the schema name (pg_advisory_xact_lock: released by
// COMMIT or ROLLBACK, never left behind by a crashed process), then checks again under
// the lock whether the migration is applied. The second replica waits for the first and
// then finds nothing left to do. Each migration commits with its schema_migrations row;
// a failing one rolls back whole and leaves the earlier ones in place.

import type { Pool, PoolClient } from 'pg';
import { MIGRATIONS, type Migration } from './migrations.ts';

/** First key of the two-int advisory lock; the second is hashtext(schema). "CXMG". */
const LOCK_CLASS = 0x43584d47;

async function inLockedTransaction<T>(client: PoolClient, schema: string, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS, schema]);
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Creates the schema if needed and applies pending migrations; returns the versions applied now. */
export async function migrate(pool: Pool, schema: string, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  try {
    await inLockedTransaction(client, schema, async () => {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at BIGINT NOT NULL
      )`);
    });
    // Those already applied need no lock; the others are checked again under it.
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const applied: number[] = [];
    const sorted = [...migrations].filter((m) => !done.has(m.version)).sort((a, b) => a.version - b.version);
    for (const migration of sorted) {
      const ran = await inLockedTransaction(client, schema, async () => {
        const seen = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
        if (seen.rowCount) return false;
        await client.query(migration.sql).catch((error: unknown) => {
          throw new Error(`migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`, { cause: error });
        });
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          migration.version,
          migration.name,
          Date.now(),
        ]);
        return true;
      });
      if (ran) applied.push(migration.version);
    }
    return applied;
  } finally {
    client.release();
  }
}

/** Versions recorded in schema_migrations, ascending. */
export async function appliedVersions(pool: Pool): Promise<number[]> {
  const result = await pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
  return result.rows.map((row) => row.version);
}

/** Schema names are restricted to plain identifiers, so they can be quoted and put in a search_path safely. */
export function checkSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(schema)}: use lowercase letters, digits and _`);
  }
  return schema;
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
