// The fixed SQL of the PostgreSQL store. Arrays travel as one parameter each and are
// unnested server-side, so that a mutation's history rows, timers or outbox fan-out cost
// one round trip whatever their number.

export const SQL = {
  // idempotency: a plain insert, so that a concurrent insert of the same key waits for the
  // other transaction and then fails on idempotency_pkey (read after our rollback).
  insertIdempotency: `INSERT INTO idempotency (principal, key, request_hash, status, body, created_at)
    VALUES ($1, $2, $3, $4, $5, $6)`,
  getIdempotency: `SELECT principal, key, request_hash, status, body, created_at FROM idempotency
    WHERE principal = $1 AND key = $2`,

  insertHandoff: `INSERT INTO handoffs (id, from_contractor, to_contractor, task_id, run_id, status, created_at, version, body)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
  updateHandoff: `UPDATE handoffs SET from_contractor = $2, to_contractor = $3, task_id = $4, run_id = $5, status = $6,
      created_at = $7, version = $8, body = $9
    WHERE id = $1 AND version = $10`,
  getHandoff: 'SELECT body FROM handoffs WHERE id = $1',
  insertRun: `INSERT INTO runs (id, workflow_id, status, concurrency_key, created_at, version, body)
    VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  updateRun: `UPDATE runs SET workflow_id = $2, status = $3, concurrency_key = $4, created_at = $5, version = $6, body = $7
    WHERE id = $1 AND version = $8`,
  getRun: 'SELECT body FROM runs WHERE id = $1',

  insertHistory: `INSERT INTO history (subject_kind, subject_id, type, actor, at, data)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])`,
  listHistory: `SELECT seq, subject_kind, subject_id, type, actor, at, data FROM history
    WHERE subject_kind = $1 AND subject_id = $2 AND seq > $3 ORDER BY seq LIMIT $4`,

  /**
   * Fan-out of every event of a mutation in one statement: one outbox row per event and
   * matching subscription. Matching is domain/subscriptions.ts's rule: the subscription
   * lists the type, and its filter (null keys dropped) is contained in the event's
   * attributes (null keys dropped) — string values, so containment is equality per key.
   */
  fanOut: `INSERT INTO outbox (message_id, subscription_id, event_type, body, status, attempts, next_attempt_at, created_at)
    SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), s.subscription_id, e.type, e.body, 'pending', 0, $4, $4
    FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS e(type, attributes, body, n)
    JOIN subscriptions s
      ON s.events::jsonb ? e.type
     AND jsonb_strip_nulls(e.attributes::jsonb) @> jsonb_strip_nulls(s.filter::jsonb)
    ORDER BY e.n, s.created_at, s.subscription_id`,

  clearTimers: `DELETE FROM timers t
    USING unnest($1::text[], $2::text[], $3::text[]) AS r(subject_kind, subject_id, kind)
    WHERE t.subject_kind = r.subject_kind AND t.subject_id = r.subject_id AND (r.kind IS NULL OR t.kind = r.kind)`,
  setTimers: `INSERT INTO timers (subject_kind, subject_id, kind, due_at, lease_until)
    SELECT subject_kind, subject_id, kind, due_at, NULL
    FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS t(subject_kind, subject_id, kind, due_at)
    ON CONFLICT (subject_kind, subject_id, kind) DO UPDATE SET due_at = excluded.due_at, lease_until = NULL`,
  /** Leases due timers; rows another replica is leasing right now are skipped, not waited for. */
  claimTimers: `UPDATE timers t SET lease_until = $3
    FROM (SELECT subject_kind, subject_id, kind FROM timers
          WHERE due_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
          ORDER BY due_at LIMIT $2
          FOR UPDATE SKIP LOCKED) d
    WHERE t.subject_kind = d.subject_kind AND t.subject_id = d.subject_id AND t.kind = d.kind
    RETURNING t.subject_kind, t.subject_id, t.kind, t.due_at`,
  deleteTimer: 'DELETE FROM timers WHERE subject_kind = $1 AND subject_id = $2 AND kind = $3 AND due_at = $4',
  nextTimerDue: 'SELECT due_at FROM timers ORDER BY due_at LIMIT 1',
  countTimers: 'SELECT count(*) AS n FROM timers',

  getDefinitionVersion: 'SELECT body FROM definitions WHERE workflow_id = $1 AND version = $2',
  getLatestDefinition: 'SELECT body FROM definitions WHERE workflow_id = $1 ORDER BY created_at DESC, seq DESC LIMIT 1',
  insertDefinition: `INSERT INTO definitions (workflow_id, version, workflow_name, body, created_at) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (workflow_id, version) DO NOTHING`,
  listDefinitions: 'SELECT workflow_id, version, workflow_name, created_at FROM definitions ORDER BY workflow_id, created_at, seq',

  insertSubscription: `INSERT INTO subscriptions (subscription_id, owner, url, events, filter, secret, description, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
  getSubscription: 'SELECT * FROM subscriptions WHERE subscription_id = $1',
  listSubscriptions: 'SELECT * FROM subscriptions ORDER BY created_at, subscription_id',
  listSubscriptionsByOwner: 'SELECT * FROM subscriptions WHERE owner = $1 ORDER BY created_at, subscription_id',
  /** One statement: the pending rows and the subscription go together. */
  deleteSubscription: `WITH pending AS (DELETE FROM outbox WHERE subscription_id = $1 AND status = 'pending')
    DELETE FROM subscriptions WHERE subscription_id = $1`,

  claimOutbox: `UPDATE outbox o SET lease_until = $3
    FROM (SELECT o2.message_id FROM outbox o2 JOIN subscriptions s2 ON s2.subscription_id = o2.subscription_id
          WHERE o2.status = 'pending' AND o2.next_attempt_at <= $1 AND (o2.lease_until IS NULL OR o2.lease_until <= $1)
          ORDER BY o2.next_attempt_at LIMIT $2
          FOR UPDATE OF o2 SKIP LOCKED) d, subscriptions s
    WHERE o.message_id = d.message_id AND s.subscription_id = o.subscription_id
    RETURNING o.message_id, o.subscription_id, s.url, s.secret, o.event_type, o.body, o.attempts, o.next_attempt_at, o.created_at`,
  markDelivered: `UPDATE outbox SET status = 'delivered', attempts = $1, finished_at = $2, lease_until = NULL
    WHERE message_id = $3 AND status = 'pending'`,
  scheduleRetry: `UPDATE outbox SET attempts = $1, next_attempt_at = $2, last_error = $3, lease_until = NULL
    WHERE message_id = $4 AND status = 'pending'`,
  markDead: `UPDATE outbox SET status = 'dead', attempts = $1, last_error = $2, finished_at = $3, lease_until = NULL
    WHERE message_id = $4 AND status = 'pending'`,
  outboxCounts: 'SELECT status, count(*) AS n FROM outbox GROUP BY status',

  // stats: each delta is one statement.
  participation: `WITH fresh AS (
      INSERT INTO contractor_participation (contractor, key) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING contractor)
    INSERT INTO contractor_stats AS c (contractor, workflows_participated) SELECT contractor, 1 FROM fresh
    ON CONFLICT (contractor) DO UPDATE SET workflows_participated = c.workflows_participated + 1`,
  handoffFinished: `WITH err AS (
      INSERT INTO contractor_errors AS e (contractor, error, count) SELECT $1, $4::text, 1 WHERE $4::text IS NOT NULL
      ON CONFLICT (contractor, error) DO UPDATE SET count = e.count + 1)
    INSERT INTO contractor_stats AS c (contractor, handoffs_finished, handoffs_failed, handoff_time_sum_ms) VALUES ($1, 1, $2, $3)
    ON CONFLICT (contractor) DO UPDATE SET
      handoffs_finished = c.handoffs_finished + 1,
      handoffs_failed = c.handoffs_failed + excluded.handoffs_failed,
      handoff_time_sum_ms = c.handoff_time_sum_ms + excluded.handoff_time_sum_ms`,
  runFinished: `WITH bucket AS (
      INSERT INTO workflow_duration_buckets AS b (workflow_id, bucket, count) VALUES ($1, $7, 1)
      ON CONFLICT (workflow_id, bucket) DO UPDATE SET count = b.count + 1)
    INSERT INTO workflow_stats AS w (workflow_id, total, successful, failed, duration_sum_ms, duration_min_ms,
      duration_max_ms, last_at, last_status, last_duration_ms)
    VALUES ($1, 1, $2, $3, $4, $4, $4, $5, $6, $4)
    ON CONFLICT (workflow_id) DO UPDATE SET
      total = w.total + 1,
      successful = w.successful + excluded.successful,
      failed = w.failed + excluded.failed,
      duration_sum_ms = w.duration_sum_ms + excluded.duration_sum_ms,
      duration_min_ms = CASE WHEN w.duration_min_ms IS NULL OR excluded.duration_min_ms < w.duration_min_ms
                             THEN excluded.duration_min_ms ELSE w.duration_min_ms END,
      duration_max_ms = CASE WHEN w.duration_max_ms IS NULL OR excluded.duration_max_ms > w.duration_max_ms
                             THEN excluded.duration_max_ms ELSE w.duration_max_ms END,
      last_status = CASE WHEN w.last_at IS NULL OR excluded.last_at >= w.last_at
                         THEN excluded.last_status ELSE w.last_status END,
      last_duration_ms = CASE WHEN w.last_at IS NULL OR excluded.last_at >= w.last_at
                              THEN excluded.last_duration_ms ELSE w.last_duration_ms END,
      last_at = CASE WHEN w.last_at IS NULL OR excluded.last_at >= w.last_at
                     THEN excluded.last_at ELSE w.last_at END`,

  getWorkflowStats: 'SELECT * FROM workflow_stats WHERE workflow_id = $1',
  getBuckets: 'SELECT bucket, count FROM workflow_duration_buckets WHERE workflow_id = $1 ORDER BY bucket',
  listWorkflowIds: 'SELECT workflow_id FROM workflow_stats ORDER BY workflow_id',
  getContractorStats: 'SELECT * FROM contractor_stats WHERE contractor = $1',
  topErrors: 'SELECT error, count FROM contractor_errors WHERE contractor = $1 ORDER BY count DESC, error ASC LIMIT $2',
  listContractors: 'SELECT contractor FROM contractor_stats ORDER BY contractor',
} as const;
