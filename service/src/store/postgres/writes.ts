// The body of Store.apply for PostgreSQL: runs on one pooled client inside the store's
// transaction, in the order the contract fixes — idempotency, record, history, outbox
// fan-out, timers (clear, then set), stats. Errors are left raw here; the store maps
// them (by SQLSTATE and constraint name) after its ROLLBACK.

import type { ClientBase } from 'pg';
import { bucketOf } from '../../domain/histogram.ts';
import type { StatsDelta, Timer } from '../../domain/types.ts';
import { ConcurrencyKeyTaken, DuplicateRecord, VersionConflict, type Mutation } from '../store.ts';
import { handoffParams, runParams } from '../sqlite/rows.ts';
import { SQL } from './sql.ts';

/** Call inside a transaction. `now` stamps the outbox rows. Throws VersionConflict or a raw pg error. */
export async function writeMutation(client: ClientBase, m: Mutation, now: number): Promise<void> {
  if (m.idempotency) {
    const r = m.idempotency;
    await client.query(SQL.insertIdempotency, [r.principal, r.key, r.request_hash, r.status, r.body, r.created_at]);
  }
  if (m.handoff) await writeHandoff(client, m.handoff);
  if (m.run) await writeRun(client, m.run);
  const history = m.history ?? [];
  if (history.length > 0) {
    await client.query(SQL.insertHistory, [
      history.map((e) => e.subject_kind),
      history.map((e) => e.subject_id),
      history.map((e) => e.type),
      history.map((e) => e.actor),
      history.map((e) => e.at),
      history.map((e) => JSON.stringify(e.data ?? {})),
    ]);
  }
  const outgoing = m.outgoing ?? [];
  if (outgoing.length > 0) {
    const timestamp = new Date(now).toISOString();
    await client.query(SQL.fanOut, [
      outgoing.map((e) => e.type),
      outgoing.map((e) => JSON.stringify(e.attributes)),
      outgoing.map((e) => JSON.stringify({ type: e.type, timestamp, data: e.payload })),
      now,
    ]);
  }
  const clear = m.timersToClear ?? [];
  if (clear.length > 0) {
    await client.query(SQL.clearTimers, [
      clear.map((t) => t.subject_kind),
      clear.map((t) => t.subject_id),
      clear.map((t) => t.kind ?? null),
    ]);
  }
  const set = lastPerKey(m.timersToSet ?? []);
  if (set.length > 0) {
    await client.query(SQL.setTimers, [
      set.map((t) => t.subject_kind),
      set.map((t) => t.subject_id),
      set.map((t) => t.kind),
      set.map((t) => t.due_at),
    ]);
  }
  for (const delta of m.stats ?? []) await applyStats(client, delta);
}

async function writeHandoff(client: ClientBase, write: NonNullable<Mutation['handoff']>): Promise<void> {
  const h = handoffParams('insert' in write ? write.insert : write.update);
  const params = [h.id, h.from_contractor, h.to_contractor, h.task_id, h.run_id, h.status, h.created_at, h.version, h.body];
  if ('insert' in write) {
    await client.query(SQL.insertHandoff, params);
    return;
  }
  const result = await client.query(SQL.updateHandoff, [...params, write.expectedVersion]);
  if (result.rowCount === 0) throw new VersionConflict('handoff', h.id);
}

async function writeRun(client: ClientBase, write: NonNullable<Mutation['run']>): Promise<void> {
  const r = runParams('insert' in write ? write.insert : write.update);
  const params = [r.id, r.workflow_id, r.status, r.concurrency_key, r.created_at, r.version, r.body];
  if ('insert' in write) {
    await client.query(SQL.insertRun, params);
    return;
  }
  const result = await client.query(SQL.updateRun, [...params, write.expectedVersion]);
  if (result.rowCount === 0) throw new VersionConflict('run', r.id);
}

/** One upsert may not touch a row twice: of timers with the same key, the last one wins (as SQLite's one-by-one upserts do). */
function lastPerKey(timers: Timer[]): Timer[] {
  if (timers.length < 2) return timers;
  const byKey = new Map<string, Timer>();
  for (const t of timers) {
    const key = JSON.stringify([t.subject_kind, t.subject_id, t.kind]);
    byKey.delete(key);
    byKey.set(key, t);
  }
  return [...byKey.values()];
}

async function applyStats(client: ClientBase, delta: StatsDelta): Promise<void> {
  switch (delta.kind) {
    case 'participation':
      await client.query(SQL.participation, [delta.contractor, delta.key]);
      return;
    case 'handoff_finished':
      await client.query(SQL.handoffFinished, [delta.contractor, delta.failed ? 1 : 0, delta.duration_ms, delta.error_code || null]);
      return;
    case 'run_finished':
      await client.query(SQL.runFinished, [
        delta.workflow_id,
        delta.status === 'completed' ? 1 : 0,
        delta.status === 'failed' ? 1 : 0,
        delta.duration_ms,
        delta.at,
        delta.status,
        bucketOf(delta.duration_ms),
      ]);
      return;
  }
}

/** SQLSTATE of a pg error, if it is one. */
export function pgCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function pgConstraint(error: unknown): string | undefined {
  const constraint = (error as { constraint?: unknown } | null)?.constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}

/**
 * Maps a unique violation of `apply` to the contract's errors. The idempotency key is
 * not handled here: its existing record is read after the rollback (see the store).
 */
export function mapUniqueViolation(error: unknown, m: Mutation): Error | null {
  if (pgCode(error) !== '23505') return null;
  switch (pgConstraint(error)) {
    case 'handoffs_pkey':
      return m.handoff && 'insert' in m.handoff ? new DuplicateRecord('handoff', m.handoff.insert.handoff_id) : null;
    case 'runs_pkey':
      return m.run && 'insert' in m.run ? new DuplicateRecord('run', m.run.insert.run_id) : null;
    case 'runs_concurrency_running': {
      const run = m.run ? ('insert' in m.run ? m.run.insert : m.run.update) : null;
      return run?.concurrency_key ? new ConcurrencyKeyTaken(run.concurrency_key) : null;
    }
    default:
      return null;
  }
}
