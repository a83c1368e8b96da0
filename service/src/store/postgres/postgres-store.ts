// The Store on PostgreSQL (node-postgres). Several service replicas may share one
// database: every write is one transaction — a single call of the cortex_apply function
// (apply-function.ts), one round trip; concurrent updates of one record meet on its row
// lock and the loser's `version = expected` check fails (VersionConflict); timers and
// outbox rows are leased with FOR UPDATE SKIP LOCKED so that replicas never lease the
// same row; idempotency keys are a primary key, so one key commits once across replicas.
//
// Every connection has search_path set to the store's schema (a startup option), so one
// database can hold several independent stores (tests use one schema each). Fixed
// statements are named prepared statements: parsed and planned once per connection.

import pg, { type Pool } from 'pg';
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
  IdempotencyKeyTaken,
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
import { canonicalJson, historyFromRow, subscriptionFromRow, subscriptionParams, type HistoryRow, type SubscriptionRow } from '../sqlite/rows.ts';
import { PgListQueries } from './lists.ts';
import { listApprovals } from './approval-list.ts';
import { checkSchemaName, migrate } from './migrate.ts';
import { SQL } from './sql.ts';
import { needsApprovalApply } from './approvals.ts';
import { STATS_SHARDS, mapApplyError, mutationDocument, pgCode, pgConstraint } from './writes.ts';

export interface PostgresStoreOptions {
  /** Schema holding the tables (created if missing). Default 'public'. */
  schema?: string;
  /** Most connections the pool opens. Default 10. */
  poolSize?: number;
}

/** Deadlocks and serialization failures are retried: a mutation is all or nothing, so trying it again is safe. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 5;
const INT8_OID = 20;

/** BIGINT columns (epoch ms, counts) as numbers; they stay far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly schema: string;
  private readonly pool: Pool;
  private readonly lists: PgListQueries;
  private closed: Promise<void> | null = null;

  /** Connects, creates the schema if needed and applies pending migrations (under the migration lock). */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const schema = checkSchemaName(options.schema ?? 'public');
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      options: `-c search_path=${schema}`,
      application_name: 'cortex',
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      types,
    });
    // An idle client losing its connection (server restart) must not crash the process;
    // the pool drops it and the next query opens a fresh one.
    pool.on('error', () => undefined);
    try {
      await migrate(pool, schema);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return new PostgresStore(pool, schema);
  }

  private constructor(pool: Pool, schema: string) {
    this.pool = pool;
    this.schema = schema;
    this.lists = new PgListQueries(pool);
  }

  async migrate(): Promise<void> {
    await migrate(this.pool, this.schema);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  close(): Promise<void> {
    this.closed ??= this.pool.end();
    return this.closed;
  }

  // ---------------------------------------------------------------- writes

  /**
   * One call of cortex_apply: a single statement, so a single transaction — all of the
   * mutation commits or none of it. Deadlocks and serialization failures are tried again.
   */
  async apply(mutation: Mutation): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const shard = Math.floor(Math.random() * STATS_SHARDS);
        // One clock reading: the outbox rows' times and their bodies' timestamp agree.
        const now = Date.now();
        await this.q(needsApprovalApply(mutation) ? 'applyApproval' : 'apply', [mutationDocument(mutation, now), now, shard]);
        return;
      } catch (error) {
        const code = pgCode(error);
        if (code && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) continue;
        const mapped = mapApplyError(error, mutation);
        if (mapped) throw mapped;
        if (code === '23505' && pgConstraint(error) === 'idempotency_pkey' && mutation.idempotency) {
          // Another transaction committed the key (a unique violation waits for it to end).
          const existing = await this.getIdempotency(mutation.idempotency.principal, mutation.idempotency.key);
          if (existing) throw new IdempotencyKeyTaken(existing);
          if (attempt < MAX_ATTEMPTS) continue;
        }
        throw error;
      }
    }
  }

  /** A fixed statement of sql.ts, prepared once per connection under its own name. */
  private q<R extends pg.QueryResultRow = Record<string, unknown>>(key: keyof typeof SQL, values?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>({ name: `cortex_${key}`, text: SQL[key], values });
  }

  // ---------------------------------------------------------------- records

  async getIdempotency(principal: string, key: string): Promise<IdempotencyRecord | null> {
    const { rows } = await this.q<IdempotencyRecord>('getIdempotency', [principal, key]);
    return rows[0] ? { ...rows[0] } : null;
  }

  async getHandoff(id: string): Promise<Handoff | null> {
    return this.body<Handoff>('getHandoff', [id]);
  }

  listHandoffs(query: HandoffQuery): Promise<Page<Handoff>> {
    return this.lists.handoffs(query);
  }

  async getRun(id: string): Promise<Run | null> {
    return this.body<Run>('getRun', [id]);
  }

  listRuns(query: RunQuery): Promise<Page<Run>> {
    return this.lists.runs(query);
  }

  async getApproval(id: string): Promise<Approval | null> {
    return this.body<Approval>('getApproval', [id]);
  }

  listApprovals(query: ApprovalQuery): Promise<Page<Approval>> {
    return listApprovals(this.pool, query);
  }

  async listHistory(subject: SubjectKind, id: string, afterSeq: number, limit: number): Promise<HistoryEvent[]> {
    const { rows } = await this.q<HistoryRow>('listHistory', [subject, id, afterSeq, Math.max(0, Math.floor(limit))]);
    return rows.map(historyFromRow);
  }

  private async body<T>(key: keyof typeof SQL, params: unknown[]): Promise<T | null> {
    const { rows } = await this.q<{ body: string }>(key, params);
    return rows[0] ? (JSON.parse(rows[0].body) as T) : null;
  }

  // ---------------------------------------------------------------- definitions

  async putDefinition(definition: WorkflowDefinition, at: number): Promise<'created' | 'unchanged'> {
    const inserted = await this.q('insertDefinition', [
      definition.workflow_id,
      definition.version,
      definition.workflow_name,
      JSON.stringify(definition),
      at,
    ]);
    if (inserted.rowCount) return 'created';
    const existing = await this.body<unknown>('getDefinitionVersion', [definition.workflow_id, definition.version]);
    if (existing !== null && canonicalJson(existing) === canonicalJson(definition)) return 'unchanged';
    throw new DuplicateRecord('definition', `${definition.workflow_id}@${definition.version}`);
  }

  async getDefinition(workflowId: string, version?: string): Promise<WorkflowDefinition | null> {
    return version === undefined
      ? this.body<WorkflowDefinition>('getLatestDefinition', [workflowId])
      : this.body<WorkflowDefinition>('getDefinitionVersion', [workflowId, version]);
  }

  async listDefinitions(): Promise<{ workflow_id: string; version: string; workflow_name: string; created_at: number }[]> {
    const { rows } = await this.q<{ workflow_id: string; version: string; workflow_name: string; created_at: number }>(
      'listDefinitions',
    );
    return rows.map((row) => ({ ...row }));
  }

  // ---------------------------------------------------------------- subscriptions

  async createSubscription(subscription: Subscription): Promise<void> {
    const s = subscriptionParams(subscription);
    try {
      await this.q('insertSubscription', [
        s.subscription_id,
        s.owner,
        s.url,
        s.events,
        s.filter,
        s.secret,
        s.description,
        s.created_at,
      ]);
    } catch (error) {
      if (pgCode(error) === '23505' && pgConstraint(error) === 'subscriptions_pkey') {
        throw new DuplicateRecord('subscription', subscription.subscription_id);
      }
      throw error;
    }
  }

  async getSubscription(id: string): Promise<Subscription | null> {
    const { rows } = await this.q<SubscriptionRow>('getSubscription', [id]);
    return rows[0] ? subscriptionFromRow(rows[0]) : null;
  }

  async listSubscriptions(owner?: string): Promise<Subscription[]> {
    const { rows } =
      owner === undefined
        ? await this.q<SubscriptionRow>('listSubscriptions')
        : await this.q<SubscriptionRow>('listSubscriptionsByOwner', [owner]);
    return rows.map(subscriptionFromRow);
  }

  async deleteSubscription(id: string): Promise<boolean> {
    const result = await this.q('deleteSubscription', [id]);
    return (result.rowCount ?? 0) > 0;
  }

  // ---------------------------------------------------------------- timers

  async claimDueTimers(now: number, limit: number, leaseMs: number): Promise<DueTimer[]> {
    if (limit < 1) return [];
    const leaseUntil = now + leaseMs;
    const { rows } = await this.q<Timer>('claimTimers', [now, Math.floor(limit), leaseUntil]);
    return rows
      .map((row) => ({
        subject_kind: row.subject_kind,
        subject_id: row.subject_id,
        kind: row.kind,
        due_at: row.due_at,
        lease_until: leaseUntil,
      }))
      .sort((a, b) => a.due_at - b.due_at);
  }

  async deleteTimer(timer: Timer): Promise<void> {
    await this.q('deleteTimer', [timer.subject_kind, timer.subject_id, timer.kind, timer.due_at]);
  }

  async nextTimerDue(): Promise<number | null> {
    const { rows } = await this.q<{ due_at: number }>('nextTimerDue');
    return rows[0]?.due_at ?? null;
  }

  async countTimers(): Promise<number> {
    const { rows } = await this.q<{ n: number }>('countTimers');
    return rows[0]?.n ?? 0;
  }

  // ---------------------------------------------------------------- outbox

  async claimDueOutbox(now: number, limit: number, leaseMs: number): Promise<OutboxMessage[]> {
    if (limit < 1) return [];
    const { rows } = await this.q<OutboxMessage>('claimOutbox', [now, Math.floor(limit), now + leaseMs]);
    return rows.map((row) => ({ ...row })).sort((a, b) => a.next_attempt_at - b.next_attempt_at);
  }

  async markDelivered(messageId: string, attempts: number, at: number): Promise<void> {
    await this.q('markDelivered', [attempts, at, messageId]);
  }

  async scheduleRetry(messageId: string, attempts: number, nextAttemptAt: number, lastError: string): Promise<void> {
    await this.q('scheduleRetry', [attempts, nextAttemptAt, lastError, messageId]);
  }

  async markDead(messageId: string, attempts: number, lastError: string, at: number): Promise<void> {
    await this.q('markDead', [attempts, lastError, at, messageId]);
  }

  async outboxCounts(): Promise<{ pending: number; delivered: number; dead: number }> {
    const counts = { pending: 0, delivered: 0, dead: 0 };
    const { rows } = await this.q<{ status: string; n: number }>('outboxCounts');
    for (const row of rows) {
      if (row.status === 'pending' || row.status === 'delivered' || row.status === 'dead') counts[row.status] = row.n;
    }
    return counts;
  }

  // ---------------------------------------------------------------- stats

  async getWorkflowStats(workflowId: string): Promise<WorkflowStatsRow | null> {
    const { rows } = await this.q<Omit<WorkflowStatsRow, 'buckets'>>('getWorkflowStats', [workflowId]);
    if (!rows[0]) return null;
    const buckets = new Map<number, number>();
    const bucketRows = await this.q<{ bucket: number; count: number }>('getBuckets', [workflowId]);
    for (const b of bucketRows.rows) buckets.set(b.bucket, b.count);
    return { ...rows[0], buckets };
  }

  async listWorkflowIdsWithStats(): Promise<string[]> {
    const { rows } = await this.q<{ workflow_id: string }>('listWorkflowIds');
    return rows.map((row) => row.workflow_id);
  }

  async getContractorStats(contractor: string, topErrors: number): Promise<ContractorStatsRow | null> {
    const { rows } = await this.q<Omit<ContractorStatsRow, 'common_errors'>>('getContractorStats', [contractor]);
    if (!rows[0]) return null;
    const errors = await this.q<{ error: string; n: number }>('topErrors', [
      contractor,
      Math.max(0, Math.floor(topErrors)),
    ]);
    return { ...rows[0], common_errors: errors.rows.map((e) => ({ error: e.error, count: e.n })) };
  }

  async listContractorsWithStats(): Promise<string[]> {
    const { rows } = await this.q<{ contractor: string }>('listContractors');
    return rows.map((row) => row.contractor);
  }
}
