// The Store on SQLite (better-sqlite3). One connection, synchronous calls wrapped in
// promises; every write is an IMMEDIATE transaction so that a second process on the same
// file waits (busy_timeout) instead of failing half-way through a read-then-write.
//
// WAL with synchronous=NORMAL: a committed transaction survives a crash of the process
// (not necessarily a power loss of the machine), which is what the service promises.

import { resolve as resolvePath } from 'node:path';
import Database from 'better-sqlite3';
import type {
  Approval,
  Handoff,
  HistoryEvent,
  IdempotencyRecord,
  OutboxMessage,
  Run,
  SubjectKind,
  Subscription,
  Timer,
  WorkflowDefinition,
} from '../../domain/types.ts';
import {
  DuplicateRecord,
  type ContractorStatsRow,
  type DueTimer,
  type ApprovalQuery,
  type HandoffQuery,
  type Mutation,
  type Page,
  type RunQuery,
  type Store,
  type WorkflowStatsRow,
} from '../store.ts';
import { Checkpointer } from './checkpointer.ts';
import { isPrimaryKeyClash } from './errors.ts';
import { GroupCommitter } from './group-commit.ts';
import { ListQueries } from './lists.ts';
import { ApprovalListQuery } from './approval-list.ts';
import { migrate } from './migrate.ts';
import {
  canonicalJson,
  definitionFromBody,
  dueTimer,
  historyFromRow,
  idempotencyFromRow,
  outboxFromRow,
  parseBody,
  subscriptionFromRow,
  subscriptionParams,
} from './rows.ts';
import { prepareStatements, type Statements } from './statements.ts';
import { MutationWriter } from './writes.ts';

const BUSY_TIMEOUT_MS = 5000;
/**
 * Background checkpoint cadence (see checkpointer.ts). The commit that crosses the
 * foreground threshold below copies whatever the worker has not yet copied, and fsyncs
 * it, on the event loop: at 200 ms that was up to ~3,600 frames and a ~55 ms stall every
 * second while 2,200 timeouts/s fired; at 50 ms the stall is ~10-20 ms.
 */
const CHECKPOINT_INTERVAL_MS = 50;
/**
 * With background checkpoints: the WAL size (frames of one 4 KiB page) at which a commit
 * finishes the checkpoint itself so that the WAL starts over (64 MiB). Measured here: the
 * event loop then does ~20x fewer fsyncs than with SQLite's default of 1000 frames.
 */
const FOREGROUND_AUTOCHECKPOINT_FRAMES = 16384;
/** The WAL file is cut back to this size when it starts over. */
const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

export interface SqliteStoreOptions {
  /**
   * Run WAL checkpoints (and so the fsyncs) in a worker thread instead of inside commits.
   * Default: on. Only files have a WAL; ':memory:' never starts the worker.
   */
  backgroundCheckpoints?: boolean;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly stmts: Statements;
  private checkpointer: Checkpointer | null;
  private readonly writer: MutationWriter;
  private readonly lists: ListQueries;
  private readonly approvalList: ApprovalListQuery;
  /** Store.apply: concurrent mutations commit together (group-commit.ts). */
  private readonly committer: GroupCommitter;
  private readonly claimTimersTx: Database.Transaction<(now: number, limit: number, leaseMs: number) => DueTimer[]>;
  private readonly claimOutboxTx: Database.Transaction<(now: number, limit: number, leaseMs: number) => OutboxMessage[]>;
  private readonly putDefinitionTx: Database.Transaction<(d: WorkflowDefinition, at: number) => 'created' | 'unchanged'>;
  private readonly deleteSubscriptionTx: Database.Transaction<(id: string) => boolean>;

  /** Opens (creating if needed) the database at `path` (':memory:' allowed) and applies pending migrations. */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    const db = new Database(path);
    let checkpointer: Checkpointer | null = null;
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma('foreign_keys = ON');
      db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
      // Group commit opens a savepoint per mutation; its journal (the pages a mutation
      // first touches) then stays in memory instead of spilling to a temporary file past
      // 64 KiB, which one handoff with its indexes nearly fills (~20% less CPU per apply).
      db.pragma('temp_store = MEMORY');
      migrate(db);
      const isFile = !db.memory && path !== '' && !path.startsWith('file:');
      if (isFile && (options.backgroundCheckpoints ?? true)) {
        db.pragma(`wal_autocheckpoint = ${FOREGROUND_AUTOCHECKPOINT_FRAMES}`);
        checkpointer = new Checkpointer(resolvePath(path), { intervalMs: CHECKPOINT_INTERVAL_MS });
      }
      return new SqliteStore(db, checkpointer);
    } catch (err) {
      void checkpointer?.stop();
      db.close();
      throw err;
    }
  }

  private constructor(db: Database.Database, checkpointer: Checkpointer | null) {
    this.db = db;
    this.checkpointer = checkpointer;
    this.stmts = prepareStatements(db);
    this.writer = new MutationWriter(this.stmts);
    this.lists = new ListQueries(db);
    this.approvalList = new ApprovalListQuery(db);
    this.committer = new GroupCommitter(db, this.writer);
    this.claimTimersTx = db.transaction((now: number, limit: number, leaseMs: number) => {
      const rows = this.stmts.selectDueTimers.all(now, now, limit);
      const leaseUntil = now + leaseMs;
      for (const row of rows) this.stmts.leaseTimer.run(leaseUntil, row.subject_kind, row.subject_id, row.kind);
      return rows.map((row) => dueTimer(row, leaseUntil));
    });
    this.claimOutboxTx = db.transaction((now: number, limit: number, leaseMs: number) => {
      const rows = this.stmts.selectDueOutbox.all(now, now, limit);
      const leaseUntil = now + leaseMs;
      for (const row of rows) this.stmts.leaseOutbox.run(leaseUntil, row.message_id);
      return rows.map(outboxFromRow);
    });
    this.putDefinitionTx = db.transaction((definition: WorkflowDefinition, at: number) => {
      const existing = this.stmts.getDefinitionVersion.get(definition.workflow_id, definition.version);
      if (existing !== undefined) {
        if (canonicalJson(JSON.parse(existing)) === canonicalJson(definition)) return 'unchanged' as const;
        throw new DuplicateRecord('definition', `${definition.workflow_id}@${definition.version}`);
      }
      this.stmts.insertDefinition.run(
        definition.workflow_id,
        definition.version,
        definition.workflow_name,
        JSON.stringify(definition),
        at,
      );
      return 'created' as const;
    });
    this.deleteSubscriptionTx = db.transaction((id: string) => {
      this.stmts.deletePendingOutboxOf.run(id);
      return this.stmts.deleteSubscription.run(id).changes > 0;
    });
  }

  async migrate(): Promise<void> {
    migrate(this.db);
  }

  async ping(): Promise<void> {
    this.stmts.ping.get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.committer.drain();
    const checkpointer = this.checkpointer;
    this.checkpointer = null;
    await checkpointer?.stop();
    if (this.db.open) {
      this.committer.drain();
      this.db.close();
    }
  }

  // ---------------------------------------------------------------- writes

  apply(mutation: Mutation): Promise<void> {
    return this.committer.submit(mutation);
  }

  // ---------------------------------------------------------------- records

  async getIdempotency(principal: string, key: string): Promise<IdempotencyRecord | null> {
    const row = this.stmts.getIdempotency.get(principal, key);
    return row ? idempotencyFromRow(row) : null;
  }

  async getHandoff(id: string): Promise<Handoff | null> {
    const body = this.stmts.getHandoff.get(id);
    return body === undefined ? null : parseBody<Handoff>(body);
  }

  async listHandoffs(query: HandoffQuery): Promise<Page<Handoff>> {
    return this.lists.handoffs(query);
  }

  async getRun(id: string): Promise<Run | null> {
    const body = this.stmts.getRun.get(id);
    return body === undefined ? null : parseBody<Run>(body);
  }

  async listRuns(query: RunQuery): Promise<Page<Run>> {
    return this.lists.runs(query);
  }

  async getApproval(id: string): Promise<Approval | null> {
    const body = this.stmts.getApproval.get(id);
    return body === undefined ? null : parseBody<Approval>(body);
  }

  async listApprovals(query: ApprovalQuery): Promise<Page<Approval>> {
    return this.approvalList.page(query);
  }

  async listHistory(subject: SubjectKind, id: string, afterSeq: number, limit: number): Promise<HistoryEvent[]> {
    return this.stmts.listHistory.all(subject, id, afterSeq, Math.max(0, Math.floor(limit))).map(historyFromRow);
  }

  // ---------------------------------------------------------------- definitions

  async putDefinition(definition: WorkflowDefinition, at: number): Promise<'created' | 'unchanged'> {
    return this.putDefinitionTx.immediate(definition, at);
  }

  async getDefinition(workflowId: string, version?: string): Promise<WorkflowDefinition | null> {
    const body =
      version === undefined
        ? this.stmts.getLatestDefinition.get(workflowId)
        : this.stmts.getDefinitionVersion.get(workflowId, version);
    return body === undefined ? null : definitionFromBody(body);
  }

  async listDefinitions(): Promise<{ workflow_id: string; version: string; workflow_name: string; created_at: number }[]> {
    return this.stmts.listDefinitions.all().map((row) => ({ ...row }));
  }

  // ---------------------------------------------------------------- subscriptions

  async createSubscription(subscription: Subscription): Promise<void> {
    try {
      this.stmts.insertSubscription.run(subscriptionParams(subscription));
    } catch (err) {
      if (isPrimaryKeyClash(err)) throw new DuplicateRecord('subscription', subscription.subscription_id);
      throw err;
    } finally {
      this.writer.invalidateSubscriptions();
    }
  }

  async getSubscription(id: string): Promise<Subscription | null> {
    const row = this.stmts.getSubscription.get(id);
    return row ? subscriptionFromRow(row) : null;
  }

  async listSubscriptions(owner?: string): Promise<Subscription[]> {
    const rows =
      owner === undefined ? this.stmts.listSubscriptions.all() : this.stmts.listSubscriptionsByOwner.all(owner);
    return rows.map(subscriptionFromRow);
  }

  async deleteSubscription(id: string): Promise<boolean> {
    try {
      return this.deleteSubscriptionTx.immediate(id);
    } finally {
      this.writer.invalidateSubscriptions();
    }
  }

  // ---------------------------------------------------------------- timers

  async claimDueTimers(now: number, limit: number, leaseMs: number): Promise<DueTimer[]> {
    if (limit < 1) return [];
    return this.claimTimersTx.immediate(now, Math.floor(limit), leaseMs);
  }

  async deleteTimer(timer: Timer): Promise<void> {
    this.stmts.deleteTimer.run(timer.subject_kind, timer.subject_id, timer.kind, timer.due_at);
  }

  async nextTimerDue(): Promise<number | null> {
    return this.stmts.nextTimerDue.get() ?? null;
  }

  async countTimers(): Promise<number> {
    return this.stmts.countTimers.get() ?? 0;
  }

  // ---------------------------------------------------------------- outbox

  async claimDueOutbox(now: number, limit: number, leaseMs: number): Promise<OutboxMessage[]> {
    if (limit < 1) return [];
    // The relay is woken by every change with events, most of which match no
    // subscription: look before taking the write lock.
    if (this.stmts.anyDueOutbox.get(now, now) === undefined) return [];
    return this.claimOutboxTx.immediate(now, Math.floor(limit), leaseMs);
  }

  async markDelivered(messageId: string, attempts: number, at: number): Promise<void> {
    this.stmts.markDelivered.run(attempts, at, messageId);
  }

  async scheduleRetry(messageId: string, attempts: number, nextAttemptAt: number, lastError: string): Promise<void> {
    this.stmts.scheduleRetry.run(attempts, nextAttemptAt, lastError, messageId);
  }

  async markDead(messageId: string, attempts: number, lastError: string, at: number): Promise<void> {
    this.stmts.markDead.run(attempts, lastError, at, messageId);
  }

  async outboxCounts(): Promise<{ pending: number; delivered: number; dead: number }> {
    const counts = { pending: 0, delivered: 0, dead: 0 };
    for (const row of this.stmts.outboxCounts.all()) {
      if (row.status === 'pending' || row.status === 'delivered' || row.status === 'dead') counts[row.status] = row.n;
    }
    return counts;
  }

  // ---------------------------------------------------------------- stats

  async getWorkflowStats(workflowId: string): Promise<WorkflowStatsRow | null> {
    const row = this.stmts.getWorkflowStats.get(workflowId);
    if (!row) return null;
    const buckets = new Map<number, number>();
    for (const b of this.stmts.getBuckets.all(workflowId)) buckets.set(b.bucket, b.count);
    return { ...row, buckets };
  }

  async listWorkflowIdsWithStats(): Promise<string[]> {
    return this.stmts.listWorkflowIds.all();
  }

  async getContractorStats(contractor: string, topErrors: number): Promise<ContractorStatsRow | null> {
    const row = this.stmts.getContractorStats.get(contractor);
    if (!row) return null;
    const common_errors = this.stmts.topErrors
      .all(contractor, Math.max(0, Math.floor(topErrors)))
      .map((e) => ({ error: e.error, count: e.count }));
    return { ...row, common_errors };
  }

  async listContractorsWithStats(): Promise<string[]> {
    return this.stmts.listContractors.all();
  }
}
