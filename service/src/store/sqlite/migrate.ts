// Applies the embedded migrations that a database has not seen yet. Each runs in its own
// immediate transaction together with its schema_migrations row, and the "already
// applied?" check is repeated inside that transaction, so two processes starting on the
// same file apply every migration exactly once.

import type Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations.ts';

export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const isApplied = db.prepare<[number]>('SELECT 1 FROM schema_migrations WHERE version = ?').pluck();
  const record = db.prepare<[number, string, number]>(
    'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
  );
  const applied: number[] = [];
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  for (const migration of sorted) {
    const run = db.transaction(() => {
      if (isApplied.get(migration.version) !== undefined) return false;
      try {
        db.exec(migration.sql);
      } catch (error) {
        throw new Error(`migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`, { cause: error });
      }
      record.run(migration.version, migration.name, Date.now());
      return true;
    });
    if (run.immediate()) applied.push(migration.version);
  }
  return applied;
}

/** Versions recorded in schema_migrations, ascending. */
export function appliedVersions(db: Database.Database): number[] {
  return db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all() as number[];
}
