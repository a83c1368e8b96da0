// Keyset cursors for newest-first lists: the (created_at, id) of the last item of a page,
// as base64url of a JSON array. Shared by every Store implementation so a cursor from one
// is understood by another. A cursor that does not decode is the client's mistake.

import { CortexError } from '../domain/errors.ts';

export interface CursorPosition {
  created_at: number;
  id: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.created_at, position.id]), 'utf8').toString('base64url');
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
