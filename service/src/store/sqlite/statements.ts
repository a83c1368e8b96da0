// Every fixed statement of the SQLite store, prepared once when the store opens (the
// schema must exist by then). List queries, whose shape depends on the filters given,
// are prepared on first use and cached by the store.

import type Database from 'better-sqlite3';
import { prepareApprovalStatements } from './approvals.ts';
import { prepareRunPartyStatements } from './run-parties.ts';
import type {
  HandoffParams,
  HistoryRow,
  IdempotencyRow,
  OutboxRow,
  RunParams,
  SubscriptionRow,
  TimerRow,
} from './rows.ts';

type Db = Database.Database;

export interface WorkflowStatsDbRow {
  workflow_id: string;
  total: number;
  successful: number;
  failed: number;
  duration_sum_ms: number;
  duration_min_ms: number | null;
  duration_max_ms: number | null;
  last_at: number | null;
  last_status: 'completed' | 'failed' | null;
  last_duration_ms: number | null;
}

export interface ContractorStatsDbRow {
  contractor: string;
  workflows_participated: number;
  handoffs_finished: number;
  handoffs_failed: number;
  handoff_time_sum_ms: number;
}

export interface DefinitionListRow {
  workflow_id: string;
  version: string;
  workflow_name: string;
  created_at: number;
}

export function prepareStatements(db: Db) {
  return {
    ping: db.prepare('SELECT 1').pluck(),
    dataVersion: db.prepare('PRAGMA data_version').pluck(),

    // idempotency
    insertIdempotency: db.prepare<[IdempotencyRow]>(
      `INSERT INTO idempotency (principal, key, request_hash, status, body, created_at)
       VALUES (@principal, @key, @request_hash, @status, @body, @created_at)
       ON CONFLICT (principal, key) DO NOTHING`,
    ),
    getIdempotency: db.prepare<[string, string], IdempotencyRow>(
      'SELECT principal, key, request_hash, status, body, created_at FROM idempotency WHERE principal = ? AND key = ?',
    ),

    // handoffs and runs
    insertHandoff: db.prepare<[HandoffParams]>(
      `INSERT INTO handoffs (id, from_contractor, to_contractor, task_id, run_id, status, created_at, version, body)
       VALUES (@id, @from_contractor, @to_contractor, @task_id, @run_id, @status, @created_at, @version, @body)`,
    ),
    // Only the columns a transition can change: a handoff's parties, task, run and creation
    // time never do, and a column named in SET makes SQLite rewrite every index holding it
    // (all six secondary indexes, twice the pages per commit, where only status moves).
    updateHandoff: db.prepare<[HandoffParams & { expected_version: number }]>(
      `UPDATE handoffs SET status = @status, version = @version, body = @body
       WHERE id = @id AND version = @expected_version`,
    ),
    getHandoff: db.prepare<[string], string>('SELECT body FROM handoffs WHERE id = ?').pluck(),
    insertRun: db.prepare<[RunParams]>(
      `INSERT INTO runs (id, workflow_id, status, concurrency_key, created_at, version, body)
       VALUES (@id, @workflow_id, @status, @concurrency_key, @created_at, @version, @body)`,
    ),
    updateRun: db.prepare<[RunParams & { expected_version: number }]>(
      `UPDATE runs SET workflow_id = @workflow_id, status = @status, concurrency_key = @concurrency_key,
         created_at = @created_at, version = @version, body = @body
       WHERE id = @id AND version = @expected_version`,
    ),
    getRun: db.prepare<[string], string>('SELECT body FROM runs WHERE id = ?').pluck(),

    // history
    insertHistory: db.prepare<[Omit<HistoryRow, 'seq'>]>(
      `INSERT INTO history (subject_kind, subject_id, type, actor, at, data)
       VALUES (@subject_kind, @subject_id, @type, @actor, @at, @data)`,
    ),
    listHistory: db.prepare<[string, string, number, number], HistoryRow>(
      `SELECT seq, subject_kind, subject_id, type, actor, at, data FROM history
       WHERE subject_kind = ? AND subject_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
    ),

    // timers
    clearTimer: db.prepare<[string, string, string]>(
      'DELETE FROM timers WHERE subject_kind = ? AND subject_id = ? AND kind = ?',
    ),
    clearSubjectTimers: db.prepare<[string, string]>('DELETE FROM timers WHERE subject_kind = ? AND subject_id = ?'),
    setTimer: db.prepare<[string, string, string, number]>(
      `INSERT INTO timers (subject_kind, subject_id, kind, due_at, lease_until) VALUES (?, ?, ?, ?, NULL)
       ON CONFLICT (subject_kind, subject_id, kind) DO UPDATE SET due_at = excluded.due_at, lease_until = NULL`,
    ),
    selectDueTimers: db.prepare<[number, number, number], TimerRow>(
      `SELECT subject_kind, subject_id, kind, due_at FROM timers
       WHERE due_at <= ? AND (lease_until IS NULL OR lease_until <= ?) ORDER BY due_at LIMIT ?`,
    ),
    leaseTimer: db.prepare<[number, string, string, string]>(
      'UPDATE timers SET lease_until = ? WHERE subject_kind = ? AND subject_id = ? AND kind = ?',
    ),
    deleteTimer: db.prepare<[string, string, string, number]>(
      'DELETE FROM timers WHERE subject_kind = ? AND subject_id = ? AND kind = ? AND due_at = ?',
    ),
    nextTimerDue: db.prepare<[], number | null>('SELECT MIN(due_at) FROM timers').pluck(),
    countTimers: db.prepare<[], number>('SELECT COUNT(*) FROM timers').pluck(),

    // definitions
    getDefinitionVersion: db.prepare<[string, string], string>(
      'SELECT body FROM definitions WHERE workflow_id = ? AND version = ?',
    ).pluck(),
    getLatestDefinition: db.prepare<[string], string>(
      'SELECT body FROM definitions WHERE workflow_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1',
    ).pluck(),
    insertDefinition: db.prepare<[string, string, string, string, number]>(
      'INSERT INTO definitions (workflow_id, version, workflow_name, body, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    listDefinitions: db.prepare<[], DefinitionListRow>(
      'SELECT workflow_id, version, workflow_name, created_at FROM definitions ORDER BY workflow_id, created_at, rowid',
    ),

    // subscriptions and outbox
    insertSubscription: db.prepare<[SubscriptionRow]>(
      `INSERT INTO subscriptions (subscription_id, owner, url, events, filter, secret, description, created_at)
       VALUES (@subscription_id, @owner, @url, @events, @filter, @secret, @description, @created_at)`,
    ),
    getSubscription: db.prepare<[string], SubscriptionRow>('SELECT * FROM subscriptions WHERE subscription_id = ?'),
    listSubscriptions: db.prepare<[], SubscriptionRow>('SELECT * FROM subscriptions ORDER BY created_at, subscription_id'),
    listSubscriptionsByOwner: db.prepare<[string], SubscriptionRow>(
      'SELECT * FROM subscriptions WHERE owner = ? ORDER BY created_at, subscription_id',
    ),
    deleteSubscription: db.prepare<[string]>('DELETE FROM subscriptions WHERE subscription_id = ?'),
    deletePendingOutboxOf: db.prepare<[string]>(
      "DELETE FROM outbox WHERE subscription_id = ? AND status = 'pending'",
    ),
    insertOutbox: db.prepare<[string, string, string, string, number, number]>(
      `INSERT INTO outbox (message_id, subscription_id, event_type, body, status, attempts, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)`,
    ),
    selectDueOutbox: db.prepare<[number, number, number], OutboxRow>(
      `SELECT o.message_id, o.subscription_id, s.url, s.secret, o.event_type, o.body, o.attempts,
              o.next_attempt_at, o.created_at
       FROM outbox o JOIN subscriptions s ON s.subscription_id = o.subscription_id
       WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND (o.lease_until IS NULL OR o.lease_until <= ?)
       ORDER BY o.next_attempt_at LIMIT ?`,
    ),
    anyDueOutbox: db.prepare<[number, number], number>(
      `SELECT 1 FROM outbox
       WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?) LIMIT 1`,
    ).pluck(),
    leaseOutbox: db.prepare<[number, string]>('UPDATE outbox SET lease_until = ? WHERE message_id = ?'),
    markDelivered: db.prepare<[number, number, string]>(
      `UPDATE outbox SET status = 'delivered', attempts = ?, finished_at = ?, lease_until = NULL
       WHERE message_id = ? AND status = 'pending'`,
    ),
    scheduleRetry: db.prepare<[number, number, string, string]>(
      `UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, lease_until = NULL
       WHERE message_id = ? AND status = 'pending'`,
    ),
    markDead: db.prepare<[number, string, number, string]>(
      `UPDATE outbox SET status = 'dead', attempts = ?, last_error = ?, finished_at = ?, lease_until = NULL
       WHERE message_id = ? AND status = 'pending'`,
    ),
    outboxCounts: db.prepare<[], { status: string; n: number }>('SELECT status, n FROM outbox_counts'),

    // stats
    insertParticipation: db.prepare<[string, string]>(
      'INSERT INTO contractor_participation (contractor, key) VALUES (?, ?) ON CONFLICT DO NOTHING',
    ),
    bumpParticipated: db.prepare<[string]>(
      `INSERT INTO contractor_stats (contractor, workflows_participated) VALUES (?, 1)
       ON CONFLICT (contractor) DO UPDATE SET workflows_participated = workflows_participated + 1`,
    ),
    bumpHandoffFinished: db.prepare<[string, number, number]>(
      `INSERT INTO contractor_stats (contractor, handoffs_finished, handoffs_failed, handoff_time_sum_ms)
       VALUES (?, 1, ?, ?)
       ON CONFLICT (contractor) DO UPDATE SET
         handoffs_finished = handoffs_finished + 1,
         handoffs_failed = handoffs_failed + excluded.handoffs_failed,
         handoff_time_sum_ms = handoff_time_sum_ms + excluded.handoff_time_sum_ms`,
    ),
    bumpContractorError: db.prepare<[string, string]>(
      `INSERT INTO contractor_errors (contractor, error, count) VALUES (?, ?, 1)
       ON CONFLICT (contractor, error) DO UPDATE SET count = count + 1`,
    ),
    bumpWorkflowStats: db.prepare<
      [{ workflow_id: string; successful: number; failed: number; duration: number; at: number; status: string }]
    >(
      `INSERT INTO workflow_stats (workflow_id, total, successful, failed, duration_sum_ms, duration_min_ms,
         duration_max_ms, last_at, last_status, last_duration_ms)
       VALUES (@workflow_id, 1, @successful, @failed, @duration, @duration, @duration, @at, @status, @duration)
       ON CONFLICT (workflow_id) DO UPDATE SET
         total = total + 1,
         successful = successful + excluded.successful,
         failed = failed + excluded.failed,
         duration_sum_ms = duration_sum_ms + excluded.duration_sum_ms,
         duration_min_ms = CASE WHEN duration_min_ms IS NULL OR excluded.duration_min_ms < duration_min_ms
                                THEN excluded.duration_min_ms ELSE duration_min_ms END,
         duration_max_ms = CASE WHEN duration_max_ms IS NULL OR excluded.duration_max_ms > duration_max_ms
                                THEN excluded.duration_max_ms ELSE duration_max_ms END,
         last_status = CASE WHEN last_at IS NULL OR excluded.last_at >= last_at
                            THEN excluded.last_status ELSE last_status END,
         last_duration_ms = CASE WHEN last_at IS NULL OR excluded.last_at >= last_at
                                 THEN excluded.last_duration_ms ELSE last_duration_ms END,
         last_at = CASE WHEN last_at IS NULL OR excluded.last_at >= last_at
                        THEN excluded.last_at ELSE last_at END`,
    ),
    bumpBucket: db.prepare<[string, number]>(
      `INSERT INTO workflow_duration_buckets (workflow_id, bucket, count) VALUES (?, ?, 1)
       ON CONFLICT (workflow_id, bucket) DO UPDATE SET count = count + 1`,
    ),
    getWorkflowStats: db.prepare<[string], WorkflowStatsDbRow>('SELECT * FROM workflow_stats WHERE workflow_id = ?'),
    getBuckets: db.prepare<[string], { bucket: number; count: number }>(
      'SELECT bucket, count FROM workflow_duration_buckets WHERE workflow_id = ? ORDER BY bucket',
    ),
    listWorkflowIds: db.prepare<[], string>('SELECT workflow_id FROM workflow_stats ORDER BY workflow_id').pluck(),
    getContractorStats: db.prepare<[string], ContractorStatsDbRow>(
      'SELECT * FROM contractor_stats WHERE contractor = ?',
    ),
    topErrors: db.prepare<[string, number], { error: string; count: number }>(
      'SELECT error, count FROM contractor_errors WHERE contractor = ? ORDER BY count DESC, error ASC LIMIT ?',
    ),
    listContractors: db.prepare<[], string>('SELECT contractor FROM contractor_stats ORDER BY contractor').pluck(),

    // approvals (approvals.ts)
    ...prepareApprovalStatements(db),

    // run parties (run-parties.ts)
    ...prepareRunPartyStatements(db),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
