// The storage contract. Every implementation (SQLite now, PostgreSQL next) passes the
// same contract suite in test/service/store-contract.ts.
//
// Writes go through `apply`: the domain layer decides a change and describes it as a
// Mutation; the store commits all of it in one transaction — the record, its history
// row, its timers, the outbox rows for every matching subscription, the metrics deltas
// and the idempotency record — or none of it. Records carry a version: an update names
// the version it was computed from, and a concurrent change makes it a VersionConflict.

import type {
  Approval,
  ApprovalStatus,
  Handoff,
  HandoffStatus,
  HistoryEvent,
  IdempotencyRecord,
  OutboxMessage,
  OutgoingEvent,
  Run,
  RunStatus,
  StatsDelta,
  Subscription,
  SubjectKind,
  Timer,
  TimerRef,
  WorkflowDefinition,
} from '../domain/types.ts';

export type RecordWrite<T> = { insert: T } | { update: T; expectedVersion: number };

export interface Mutation {
  handoff?: RecordWrite<Handoff>;
  run?: RecordWrite<Run>;
  approval?: RecordWrite<Approval>;
  /**
   * Subscriptions created with the change (an approval's callback), inserted before the
   * fan-out so that they receive the change's own events. A duplicate id is a DuplicateRecord.
   */
  subscriptions?: Subscription[];
  history?: HistoryEvent[];
  /** Fanned out to the outbox, one row per matching subscription. */
  outgoing?: OutgoingEvent[];
  timersToClear?: TimerRef[];
  /** Upserted (a timer of the same subject and kind is replaced). Applied after timersToClear. */
  timersToSet?: Timer[];
  stats?: StatsDelta[];
  idempotency?: IdempotencyRecord;
}

export class VersionConflict extends Error {
  readonly subject: SubjectKind;
  readonly id: string;
  constructor(subject: SubjectKind, id: string) {
    super(`${subject} ${id} was changed concurrently`);
    this.subject = subject;
    this.id = id;
  }
}

/** An insert collided with an existing primary key (a handoff, run or subscription id given twice). */
export class DuplicateRecord extends Error {
  readonly subject: SubjectKind | 'definition' | 'subscription';
  readonly id: string;
  constructor(subject: SubjectKind | 'definition' | 'subscription', id: string) {
    super(`${subject} ${id} already exists`);
    this.subject = subject;
    this.id = id;
  }
}

/** The idempotency key was used before; `existing` is what was recorded then. */
export class IdempotencyKeyTaken extends Error {
  readonly existing: IdempotencyRecord;
  constructor(existing: IdempotencyRecord) {
    super('idempotency key already used');
    this.existing = existing;
  }
}

/** Another running run holds the concurrency key. */
export class ConcurrencyKeyTaken extends Error {
  readonly concurrencyKey: string;
  constructor(concurrencyKey: string) {
    super(`a running run already holds concurrency key ${concurrencyKey}`);
    this.concurrencyKey = concurrencyKey;
  }
}

export interface Page<T> {
  items: T[];
  /** Opaque; pass back to get the next page. Null on the last page. */
  next_cursor: string | null;
}

export interface HandoffQuery {
  to_contractor?: string;
  from_contractor?: string;
  status?: HandoffStatus;
  task_id?: string;
  run_id?: string;
  /** Only handoffs this contractor sent or receives. */
  involving?: string;
  cursor?: string;
  limit: number;
}

export interface RunQuery {
  workflow_id?: string;
  status?: RunStatus;
  /** Only runs this contractor started or owns a phase of (domain/run-parties.ts). */
  involving?: string;
  cursor?: string;
  limit: number;
}

export interface ApprovalQuery {
  status?: ApprovalStatus;
  /** The token name that created them. */
  created_by?: string;
  /** Only approvals that list this approver identity (groups as expanded at creation). */
  approver?: string;
  cursor?: string;
  limit: number;
}

/** A timer leased to one sweeper until `lease_until`. */
export interface DueTimer extends Timer {
  lease_until: number;
}

export interface WorkflowStatsRow {
  workflow_id: string;
  total: number;
  successful: number;
  failed: number;
  duration_sum_ms: number;
  duration_min_ms: number | null;
  duration_max_ms: number | null;
  /** Duration histogram: bucket index → count (see domain/histogram.ts). */
  buckets: Map<number, number>;
  last_at: number | null;
  last_status: 'completed' | 'failed' | null;
  last_duration_ms: number | null;
}

export interface ContractorStatsRow {
  contractor: string;
  workflows_participated: number;
  handoffs_finished: number;
  handoffs_failed: number;
  handoff_time_sum_ms: number;
  /** Error code → count, the most frequent first, at most `topErrors` entries. */
  common_errors: { error: string; count: number }[];
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Applies pending migrations; safe to call on every start. */
  migrate(): Promise<void>;
  /** Cheap round trip for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;

  /** Throws VersionConflict, DuplicateRecord, IdempotencyKeyTaken or ConcurrencyKeyTaken; commits nothing then. */
  apply(mutation: Mutation): Promise<void>;

  getIdempotency(principal: string, key: string): Promise<IdempotencyRecord | null>;

  getHandoff(id: string): Promise<Handoff | null>;
  /** Newest first (created_at desc, id desc). */
  listHandoffs(query: HandoffQuery): Promise<Page<Handoff>>;

  getRun(id: string): Promise<Run | null>;
  /** Newest first. */
  listRuns(query: RunQuery): Promise<Page<Run>>;

  getApproval(id: string): Promise<Approval | null>;
  /** Newest first (created_at desc, id desc). */
  listApprovals(query: ApprovalQuery): Promise<Page<Approval>>;

  /** Oldest first, after `afterSeq`. */
  listHistory(subject: SubjectKind, id: string, afterSeq: number, limit: number): Promise<HistoryEvent[]>;

  /** Throws DuplicateRecord when workflow_id+version exists with different content; same content is a no-op. */
  putDefinition(definition: WorkflowDefinition, at: number): Promise<'created' | 'unchanged'>;
  /** Without a version: the most recently stored version. */
  getDefinition(workflowId: string, version?: string): Promise<WorkflowDefinition | null>;
  listDefinitions(): Promise<{ workflow_id: string; version: string; workflow_name: string; created_at: number }[]>;

  createSubscription(subscription: Subscription): Promise<void>;
  getSubscription(id: string): Promise<Subscription | null>;
  listSubscriptions(owner?: string): Promise<Subscription[]>;
  /** Also drops its undelivered outbox rows. Returns false if there was none. */
  deleteSubscription(id: string): Promise<boolean>;

  /**
   * Leases up to `limit` timers due at or before `now` whose lease is free, for `leaseMs`.
   * Two callers never get the same timer while its lease runs.
   */
  claimDueTimers(now: number, limit: number, leaseMs: number): Promise<DueTimer[]>;
  /** Removes a timer only if it still has this due time (a re-armed timer stays). */
  deleteTimer(timer: Timer): Promise<void>;
  /** Earliest due time among all timers, or null. */
  nextTimerDue(): Promise<number | null>;
  countTimers(): Promise<number>;

  /** Leases up to `limit` outbox messages due at or before `now`, for `leaseMs`. */
  claimDueOutbox(now: number, limit: number, leaseMs: number): Promise<OutboxMessage[]>;
  markDelivered(messageId: string, attempts: number, at: number): Promise<void>;
  scheduleRetry(messageId: string, attempts: number, nextAttemptAt: number, lastError: string): Promise<void>;
  markDead(messageId: string, attempts: number, lastError: string, at: number): Promise<void>;
  outboxCounts(): Promise<{ pending: number; delivered: number; dead: number }>;

  getWorkflowStats(workflowId: string): Promise<WorkflowStatsRow | null>;
  listWorkflowIdsWithStats(): Promise<string[]>;
  getContractorStats(contractor: string, topErrors: number): Promise<ContractorStatsRow | null>;
  listContractorsWithStats(): Promise<string[]>;
}
