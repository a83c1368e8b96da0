// The body of Store.apply for SQLite: runs inside the store's IMMEDIATE transaction, in
// the order the contract fixes — idempotency, record, history, outbox fan-out, timers
// (clear, then set), stats. Any throw rolls the whole transaction back.

import { bucketOf } from '../../domain/histogram.ts';
import { timeOrderedHex } from '../../domain/ids.ts';
import { subscriptionMatches } from '../../domain/subscriptions.ts';
import type { OutgoingEvent, StatsDelta, Subscription } from '../../domain/types.ts';
import { ConcurrencyKeyTaken, DuplicateRecord, IdempotencyKeyTaken, VersionConflict, type Mutation } from '../store.ts';
import { handoffParams, historyParams, idempotencyFromRow, runParams, subscriptionFromRow, subscriptionParams } from './rows.ts';
import type { Statements } from './statements.ts';
import { writeApproval } from './approvals.ts';
import { isPrimaryKeyClash, sqliteCode } from './errors.ts';
import { writeRunParties } from './run-parties.ts';

export class MutationWriter {
  private readonly stmts: Statements;
  /** Parsed subscriptions for fan-out; valid while PRAGMA data_version is unchanged. */
  private subscriptionCache: { dataVersion: number; subscriptions: Subscription[] } | null = null;

  constructor(stmts: Statements) {
    this.stmts = stmts;
  }

  /** This connection changed the subscriptions (data_version only tracks other connections). */
  invalidateSubscriptions(): void {
    this.subscriptionCache = null;
  }

  /** Call inside a transaction. `now` stamps the outbox rows. */
  apply(m: Mutation, now: number): void {
    if (!m.subscriptions?.length) return this.applyParts(m, now);
    try {
      this.applyParts(m, now);
    } finally {
      // The cache may now hold subscriptions this mutation inserted; if its savepoint or
      // transaction is rolled back they never existed. Later fan-outs read them afresh.
      this.subscriptionCache = null;
    }
  }

  private applyParts(m: Mutation, now: number): void {
    const s = this.stmts;
    if (m.idempotency) {
      if (s.insertIdempotency.run(m.idempotency).changes === 0) {
        const existing = s.getIdempotency.get(m.idempotency.principal, m.idempotency.key);
        // The row cannot vanish inside this transaction; a missing one would be a bug.
        throw new IdempotencyKeyTaken(existing ? idempotencyFromRow(existing) : m.idempotency);
      }
    }
    if (m.handoff) this.writeHandoff(m.handoff);
    if (m.run) {
      this.writeRun(m.run);
      writeRunParties(s, m.run);
    }
    if (m.approval) writeApproval(s, m.approval);
    if (m.subscriptions?.length) this.insertSubscriptions(m.subscriptions);
    for (const event of m.history ?? []) s.insertHistory.run(historyParams(event));
    if (m.outgoing && m.outgoing.length > 0) this.fanOut(m.outgoing, now);
    for (const ref of m.timersToClear ?? []) {
      if (ref.kind === undefined) s.clearSubjectTimers.run(ref.subject_kind, ref.subject_id);
      else s.clearTimer.run(ref.subject_kind, ref.subject_id, ref.kind);
    }
    for (const timer of m.timersToSet ?? []) s.setTimer.run(timer.subject_kind, timer.subject_id, timer.kind, timer.due_at);
    for (const delta of m.stats ?? []) this.applyStats(delta);
  }

  private writeHandoff(write: NonNullable<Mutation['handoff']>): void {
    if ('insert' in write) {
      try {
        this.stmts.insertHandoff.run(handoffParams(write.insert));
      } catch (err) {
        if (isPrimaryKeyClash(err)) throw new DuplicateRecord('handoff', write.insert.handoff_id);
        throw err;
      }
      return;
    }
    const params = { ...handoffParams(write.update), expected_version: write.expectedVersion };
    if (this.stmts.updateHandoff.run(params).changes === 0) {
      throw new VersionConflict('handoff', write.update.handoff_id);
    }
  }

  private writeRun(write: NonNullable<Mutation['run']>): void {
    const run = 'insert' in write ? write.insert : write.update;
    try {
      if ('insert' in write) {
        this.stmts.insertRun.run(runParams(run));
      } else if (this.stmts.updateRun.run({ ...runParams(run), expected_version: write.expectedVersion }).changes === 0) {
        throw new VersionConflict('run', run.run_id);
      }
    } catch (err) {
      const code = sqliteCode(err);
      if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new DuplicateRecord('run', run.run_id);
      // The partial unique index runs_concurrency_running (status 'running' only).
      if (
        code === 'SQLITE_CONSTRAINT_UNIQUE' &&
        (err as Error).message.includes('runs.concurrency_key') &&
        run.concurrency_key !== null
      ) {
        throw new ConcurrencyKeyTaken(run.concurrency_key);
      }
      throw err;
    }
  }

  private insertSubscriptions(subscriptions: Subscription[]): void {
    // The fan-out below must see them: drop the cache (a rollback leaves it dropped, which is harmless).
    this.subscriptionCache = null;
    for (const subscription of subscriptions) {
      try {
        this.stmts.insertSubscription.run(subscriptionParams(subscription));
      } catch (err) {
        if (isPrimaryKeyClash(err)) throw new DuplicateRecord('subscription', subscription.subscription_id);
        throw err;
      }
    }
  }

  private fanOut(events: OutgoingEvent[], now: number): void {
    const subscriptions = this.currentSubscriptions();
    if (subscriptions.length === 0) return;
    const timestamp = new Date(now).toISOString();
    for (const event of events) {
      let body: string | null = null;
      for (const sub of subscriptions) {
        if (!subscriptionMatches(sub, event)) continue;
        body ??= JSON.stringify({ type: event.type, timestamp, data: event.payload });
        this.stmts.insertOutbox.run(newMessageId(), sub.subscription_id, event.type, body, now, now);
      }
    }
  }

  /** All subscriptions, re-read only when this or another connection may have changed them. */
  private currentSubscriptions(): Subscription[] {
    const dataVersion = this.stmts.dataVersion.get() as number;
    if (this.subscriptionCache && this.subscriptionCache.dataVersion === dataVersion) {
      return this.subscriptionCache.subscriptions;
    }
    const subscriptions = this.stmts.listSubscriptions.all().map(subscriptionFromRow);
    this.subscriptionCache = { dataVersion, subscriptions };
    return subscriptions;
  }

  private applyStats(delta: StatsDelta): void {
    const s = this.stmts;
    switch (delta.kind) {
      case 'participation':
        if (s.insertParticipation.run(delta.contractor, delta.key).changes > 0) s.bumpParticipated.run(delta.contractor);
        return;
      case 'handoff_finished':
        s.bumpHandoffFinished.run(delta.contractor, delta.failed ? 1 : 0, delta.duration_ms);
        if (delta.error_code) s.bumpContractorError.run(delta.contractor, delta.error_code);
        return;
      case 'run_finished':
        s.bumpWorkflowStats.run({
          workflow_id: delta.workflow_id,
          successful: delta.status === 'completed' ? 1 : 0,
          failed: delta.status === 'failed' ? 1 : 0,
          duration: delta.duration_ms,
          at: delta.at,
          status: delta.status,
        });
        s.bumpBucket.run(delta.workflow_id, bucketOf(delta.duration_ms));
        return;
    }
  }
}

function newMessageId(): string {
  return `msg_${timeOrderedHex()}`;
}
