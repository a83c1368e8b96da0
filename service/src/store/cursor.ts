// Keyset cursors for newest-first lists, and the pages they end: a cursor is the
// (created_at, id) of the last item of a page, as base64url of a JSON array. Shared by
// every Store implementation so a cursor from one is understood by another. A cursor
// that does not decode is the client's mistake.

import { CortexError } from '../domain/errors.ts';
import type { Page } from './store.ts';

export interface CursorPosition {
  created_at: number;
  id: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.created_at, position.id]), 'utf8').toString('base64url');
}

/** A row of a list query: the record's JSON and its position. */
export interface ListRow {
  body: string;
  created_at: number;
  id: string;
}

/** One page from rows read with LIMIT limit + 1: the extra row only says that more follow. */
export function pageOf<T>(rows: ListRow[], limit: number): Page<T> {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return {
    items: pageRows.map((row) => JSON.parse(row.body) as T),
    next_cursor: more && last ? encodeCursor({ created_at: last.created_at, id: last.id }) : null,
  };
}

/** Throws CortexError('invalid', 'invalid_cursor') — an HTTP 400 — when the cursor is not one we issued. */
export function decodeCursor(cursor: string): CursorPosition {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'number' ||
    !Number.isSafeInteger(parsed[0]) ||
    typeof parsed[1] !== 'string'
  ) {
    throw badCursor();
  }
  return { created_at: parsed[0], id: parsed[1] };
}

function badCursor(): CortexError {
  return new CortexError('invalid', 'invalid_cursor', 'the cursor is not valid', [
    { path: 'cursor', message: 'pass back a next_cursor from an earlier page' },
  ]);
}
