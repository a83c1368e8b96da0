// SQLite's errors as the store tells them apart.

import Database from 'better-sqlite3';

export function sqliteCode(err: unknown): string | undefined {
  return err instanceof Database.SqliteError ? err.code : undefined;
}

/** An insert collided with an existing primary key. */
export function isPrimaryKeyClash(err: unknown): boolean {
  return sqliteCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
