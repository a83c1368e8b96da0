// The fixed SQL of the PostgreSQL store outside `apply` (which is one call of the
// cortex_apply function, see apply-function.ts). The store runs each as a named prepared
// statement: parsed and planned once per connection.

export const SQL = {
  apply: 'SELECT cortex_apply($1::jsonb, $2::bigint, $3::smallint)',
  /** Mutations with an approval or new subscriptions (approvals.ts). */
  applyApproval: 'SELECT cortex_apply_approval($1::jsonb, $2::bigint, $3::smallint)',

  getIdempotency: `SELECT principal, key, request_hash, status, body, created_at FROM idempotency
    WHERE principal = $1 AND key = $2`,

  getHandoff: 'SELECT body FROM handoffs WHERE id = $1',
  getRun: 'SELECT body FROM runs WHERE id = $1',
  getApproval: 'SELECT body FROM approvals WHERE id = $1',

  listHistory: `SELECT seq, subject_kind, subject_id, type, actor, at, data FROM history
    WHERE subject_kind = $1 AND subject_id = $2 AND seq > $3 ORDER BY seq LIMIT $4`,

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

  // stats: counters are sharded rows (see migrations.ts); reads add the shards up.
  getWorkflowStats: `SELECT workflow_id, sum(total)::bigint AS total, sum(successful)::bigint AS successful,
      sum(failed)::bigint AS failed, sum(duration_sum_ms)::bigint AS duration_sum_ms,
      min(duration_min_ms) AS duration_min_ms, max(duration_max_ms) AS duration_max_ms,
      (array_agg(last_at ORDER BY last_at DESC NULLS LAST, last_seq DESC NULLS LAST))[1] AS last_at,
      (array_agg(last_status ORDER BY last_at DESC NULLS LAST, last_seq DESC NULLS LAST))[1] AS last_status,
      (array_agg(last_duration_ms ORDER BY last_at DESC NULLS LAST, last_seq DESC NULLS LAST))[1] AS last_duration_ms
    FROM workflow_stats WHERE workflow_id = $1 GROUP BY workflow_id`,
  getBuckets: `SELECT bucket, sum(count)::bigint AS count FROM workflow_duration_buckets WHERE workflow_id = $1
    GROUP BY bucket ORDER BY bucket`,
  listWorkflowIds: 'SELECT DISTINCT workflow_id FROM workflow_stats ORDER BY workflow_id',
  getContractorStats: `SELECT contractor, sum(workflows_participated)::bigint AS workflows_participated,
      sum(handoffs_finished)::bigint AS handoffs_finished, sum(handoffs_failed)::bigint AS handoffs_failed,
      sum(handoff_time_sum_ms)::bigint AS handoff_time_sum_ms
    FROM contractor_stats WHERE contractor = $1 GROUP BY contractor`,
  topErrors: `SELECT error, sum(count)::bigint AS n FROM contractor_errors WHERE contractor = $1
    GROUP BY error ORDER BY n DESC, error ASC LIMIT $2`,
  listContractors: 'SELECT DISTINCT contractor FROM contractor_stats ORDER BY contractor',
} as const;
