// Store.apply for PostgreSQL, client side: the mutation becomes one JSON document for
// the cortex_apply function (apply-function.ts), and the function's errors become the
// contract's errors. The document keeps the contract's order (idempotency, record,
// history, outbox fan-out, timers cleared then set, stats), with two adjustments:
// timers of one key keep only the last one (one upsert may not touch a row twice; the
// last wins, as with SQLite's one-by-one upserts) and stats deltas are sorted so that two
// transactions never wait on each other's counter rows in opposite orders.

import { bucketOf } from '../../domain/histogram.ts';
import type { StatsDelta, Timer } from '../../domain/types.ts';
import { ConcurrencyKeyTaken, DuplicateRecord, VersionConflict, type Mutation, type RecordWrite } from '../store.ts';
import { handoffParams, runParams } from '../sqlite/rows.ts';
import { approvalDocumentParts, mapApprovalError } from './approvals.ts';

/** Row shards per contractor / workflow counter (see migrations.ts); a transaction writes one. */
export const STATS_SHARDS = 16;

/** The JSON text of cortex_apply's first argument. */
export function mutationDocument(m: Mutation, now: number): string {
  const timestamp = new Date(now).toISOString();
  return JSON.stringify({
    idempotency: m.idempotency ?? null,
    handoff: m.handoff ? recordPart(m.handoff, handoffParams) : null,
    run: m.run ? recordPart(m.run, runParams) : null,
    history: (m.history ?? []).map((e) => ({
      subject_kind: e.subject_kind,
      subject_id: e.subject_id,
      type: e.type,
      actor: e.actor,
      at: e.at,
      data: JSON.stringify(e.data ?? {}),
    })),
    outgoing: (m.outgoing ?? []).map((e) => ({
      type: e.type,
      attributes: e.attributes,
      body: JSON.stringify({ type: e.type, timestamp, data: e.payload }),
    })),
    timers_to_clear: (m.timersToClear ?? []).map((t) => ({ subject_kind: t.subject_kind, subject_id: t.subject_id, kind: t.kind ?? null })),
    timers_to_set: lastPerKey(m.timersToSet ?? []),
    stats: [...(m.stats ?? [])].sort(statsOrder).map(statsEntry),
    // Only cortex_apply_approval reads these (approvals.ts); absent for every other mutation.
    ...approvalDocumentParts(m),
  });
}

/** A record write as cortex_apply reads it: the row's columns, `op` and `expected_version`. */
function recordPart<T, P extends object>(write: RecordWrite<T>, params: (record: T) => P) {
  return 'insert' in write
    ? { op: 'insert', ...params(write.insert), expected_version: null }
    : { op: 'update', ...params(write.update), expected_version: write.expectedVersion };
}

/** The record an insert or update writes. */
function recordOf<T>(write: RecordWrite<T>): T {
  return 'insert' in write ? write.insert : write.update;
}

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

/** Contractors' rows first, then workflows', each by name; the sort is stable (same-key order kept). */
function statsOrder(a: StatsDelta, b: StatsDelta): number {
  const x = a.kind === 'run_finished' ? `w:${a.workflow_id}` : `c:${a.contractor}`;
  const y = b.kind === 'run_finished' ? `w:${b.workflow_id}` : `c:${b.contractor}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

function statsEntry(delta: StatsDelta): Record<string, unknown> {
  switch (delta.kind) {
    case 'participation':
      return { kind: delta.kind, contractor: delta.contractor, key: delta.key };
    case 'handoff_finished':
      return {
        kind: delta.kind,
        contractor: delta.contractor,
        failed: delta.failed ? 1 : 0,
        duration_ms: delta.duration_ms,
        error_code: delta.error_code || null,
      };
    case 'run_finished':
      return {
        kind: delta.kind,
        workflow_id: delta.workflow_id,
        status: delta.status,
        duration_ms: delta.duration_ms,
        at: delta.at,
        bucket: bucketOf(delta.duration_ms),
      };
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
 * Maps cortex_apply's errors to the contract's, or null. The idempotency key is not
 * handled here: its existing record is read afterwards (see the store).
 */
export function mapApplyError(error: unknown, m: Mutation): Error | null {
  const code = pgCode(error);
  const approvalError = mapApprovalError(code, (error as { detail?: string }).detail, pgConstraint(error), m);
  if (approvalError) return approvalError;
  if (code === 'CX409') {
    const subject = (error as { detail?: string }).detail;
    if (subject === 'handoff' && m.handoff) return new VersionConflict('handoff', recordOf(m.handoff).handoff_id);
    if (subject === 'run' && m.run) return new VersionConflict('run', recordOf(m.run).run_id);
    return null;
  }
  if (code !== '23505') return null;
  switch (pgConstraint(error)) {
    case 'handoffs_pkey':
      return m.handoff && 'insert' in m.handoff ? new DuplicateRecord('handoff', m.handoff.insert.handoff_id) : null;
    case 'runs_pkey':
      return m.run && 'insert' in m.run ? new DuplicateRecord('run', m.run.insert.run_id) : null;
    case 'runs_concurrency_running': {
      const key = m.run ? recordOf(m.run).concurrency_key : null;
      return key ? new ConcurrencyKeyTaken(key) : null;
    }
    default:
      return null;
  }
}
