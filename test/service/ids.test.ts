// Generated ids: UUIDv7 layout in 32 hex digits, ordered by creation time, unique.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { timeOrderedHex } from '../../service/src/domain/ids.ts';

test('timeOrderedHex: a UUIDv7 in 32 hex digits, time first', () => {
  const now = 1_700_000_000_123;
  const id = timeOrderedHex(now);
  assert.match(id, /^[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
  assert.equal(parseInt(id.slice(0, 12), 16), now);
});

test('timeOrderedHex: later ids sort after earlier ones, and none repeats', () => {
  const ids = Array.from({ length: 5000 }, (_, i) => timeOrderedHex(1_700_000_000_000 + Math.floor(i / 100)));
  assert.equal(new Set(ids).size, ids.length);
  for (let i = 100; i < ids.length; i += 100) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} < ${ids[i]}`);
});
