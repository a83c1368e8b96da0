// cortex_apply(m jsonb, now_ms bigint, stats_shard smallint): the whole of Store.apply
// as one server-side function, so that a mutation costs one round trip and one
// statement — itself one transaction: every part commits, or an error rolls all of it
// back. PL/pgSQL keeps the plans of its statements per connection.
//
// `m` is built by writes.ts: records with their list columns and their JSON `body` as a
// string (stored as sent, byte for byte), arrays in the contract's order. Errors:
// unique violations keep their constraint name (idempotency_pkey, handoffs_pkey,
// runs_pkey, runs_concurrency_running); a lost version race raises SQLSTATE CX409 with
// the subject kind ('handoff' or 'run') as DETAIL.

export const APPLY_FUNCTION_SQL = `
CREATE FUNCTION cortex_apply(m jsonb, now_ms bigint, stats_shard smallint) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  v_rec jsonb;
  v_changed bigint;
  v_stat jsonb;
BEGIN
  v_rec := m->'idempotency';
  IF jsonb_typeof(v_rec) = 'object' THEN
    INSERT INTO idempotency (principal, key, request_hash, status, body, created_at)
    VALUES (v_rec->>'principal', v_rec->>'key', v_rec->>'request_hash', (v_rec->>'status')::integer, v_rec->>'body',
            (v_rec->>'created_at')::bigint);
  END IF;

  v_rec := m->'handoff';
  IF jsonb_typeof(v_rec) = 'object' THEN
    IF v_rec->>'op' = 'insert' THEN
      INSERT INTO handoffs (id, from_contractor, to_contractor, task_id, run_id, status, created_at, version, body)
      VALUES (v_rec->>'id', v_rec->>'from_contractor', v_rec->>'to_contractor', v_rec->>'task_id', v_rec->>'run_id',
              v_rec->>'status', (v_rec->>'created_at')::bigint, (v_rec->>'version')::integer, v_rec->>'body');
    ELSE
      UPDATE handoffs SET from_contractor = v_rec->>'from_contractor', to_contractor = v_rec->>'to_contractor',
             task_id = v_rec->>'task_id', run_id = v_rec->>'run_id', status = v_rec->>'status',
             created_at = (v_rec->>'created_at')::bigint, version = (v_rec->>'version')::integer, body = v_rec->>'body'
       WHERE id = v_rec->>'id' AND version = (v_rec->>'expected_version')::integer;
      GET DIAGNOSTICS v_changed = ROW_COUNT;
      IF v_changed = 0 THEN
        RAISE EXCEPTION 'handoff % was changed concurrently', v_rec->>'id' USING ERRCODE = 'CX409', DETAIL = 'handoff';
      END IF;
    END IF;
  END IF;

  v_rec := m->'run';
  IF jsonb_typeof(v_rec) = 'object' THEN
    IF v_rec->>'op' = 'insert' THEN
      INSERT INTO runs (id, workflow_id, status, concurrency_key, created_at, version, body)
      VALUES (v_rec->>'id', v_rec->>'workflow_id', v_rec->>'status', v_rec->>'concurrency_key',
              (v_rec->>'created_at')::bigint, (v_rec->>'version')::integer, v_rec->>'body');
    ELSE
      UPDATE runs SET workflow_id = v_rec->>'workflow_id', status = v_rec->>'status',
             concurrency_key = v_rec->>'concurrency_key', created_at = (v_rec->>'created_at')::bigint,
             version = (v_rec->>'version')::integer, body = v_rec->>'body'
       WHERE id = v_rec->>'id' AND version = (v_rec->>'expected_version')::integer;
      GET DIAGNOSTICS v_changed = ROW_COUNT;
      IF v_changed = 0 THEN
        RAISE EXCEPTION 'run % was changed concurrently', v_rec->>'id' USING ERRCODE = 'CX409', DETAIL = 'run';
      END IF;
    END IF;
  END IF;

  INSERT INTO history (subject_kind, subject_id, type, actor, at, data)
  SELECT e->>'subject_kind', e->>'subject_id', e->>'type', e->>'actor', (e->>'at')::bigint, e->>'data'
    FROM jsonb_array_elements(m->'history') WITH ORDINALITY AS h(e, n)
   ORDER BY h.n;

  -- Fan-out: domain/subscriptions.ts's rule — the subscription lists the type, and its
  -- filter (null keys dropped) is contained in the event's attributes (null keys dropped);
  -- the values are strings, so containment is equality key by key.
  INSERT INTO outbox (message_id, subscription_id, event_type, body, status, attempts, next_attempt_at, created_at)
  SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), s.subscription_id, o.e->>'type', o.e->>'body',
         'pending', 0, now_ms, now_ms
    FROM jsonb_array_elements(m->'outgoing') WITH ORDINALITY AS o(e, n)
    JOIN subscriptions s
      ON s.events::jsonb ? (o.e->>'type')
     AND jsonb_strip_nulls(o.e->'attributes') @> jsonb_strip_nulls(s.filter::jsonb)
   ORDER BY o.n, s.created_at, s.subscription_id;

  DELETE FROM timers tm
   USING jsonb_array_elements(m->'timers_to_clear') AS c(ref)
   WHERE tm.subject_kind = c.ref->>'subject_kind' AND tm.subject_id = c.ref->>'subject_id'
     AND (c.ref->>'kind' IS NULL OR tm.kind = c.ref->>'kind');

  INSERT INTO timers (subject_kind, subject_id, kind, due_at, lease_until)
  SELECT x.t->>'subject_kind', x.t->>'subject_id', x.t->>'kind', (x.t->>'due_at')::bigint, NULL
    FROM jsonb_array_elements(m->'timers_to_set') AS x(t)
  ON CONFLICT (subject_kind, subject_id, kind) DO UPDATE SET due_at = excluded.due_at, lease_until = NULL;

  FOR v_stat IN SELECT st.e FROM jsonb_array_elements(m->'stats') WITH ORDINALITY AS st(e, n) ORDER BY st.n LOOP
    CASE v_stat->>'kind'
      WHEN 'participation' THEN
        WITH fresh AS (
          INSERT INTO contractor_participation (contractor, key) VALUES (v_stat->>'contractor', v_stat->>'key')
          ON CONFLICT DO NOTHING RETURNING contractor)
        INSERT INTO contractor_stats AS cs (contractor, shard, workflows_participated)
        SELECT fresh.contractor, stats_shard, 1 FROM fresh
        ON CONFLICT (contractor, shard) DO UPDATE SET workflows_participated = cs.workflows_participated + 1;
      WHEN 'handoff_finished' THEN
        IF coalesce(v_stat->>'error_code', '') <> '' THEN
          INSERT INTO contractor_errors AS ce (contractor, error, shard, count)
          VALUES (v_stat->>'contractor', v_stat->>'error_code', stats_shard, 1)
          ON CONFLICT (contractor, error, shard) DO UPDATE SET count = ce.count + 1;
        END IF;
        INSERT INTO contractor_stats AS cs (contractor, shard, handoffs_finished, handoffs_failed, handoff_time_sum_ms)
        VALUES (v_stat->>'contractor', stats_shard, 1, (v_stat->>'failed')::bigint, (v_stat->>'duration_ms')::bigint)
        ON CONFLICT (contractor, shard) DO UPDATE SET
          handoffs_finished = cs.handoffs_finished + 1,
          handoffs_failed = cs.handoffs_failed + excluded.handoffs_failed,
          handoff_time_sum_ms = cs.handoff_time_sum_ms + excluded.handoff_time_sum_ms;
      WHEN 'run_finished' THEN
        INSERT INTO workflow_duration_buckets AS b (workflow_id, bucket, shard, count)
        VALUES (v_stat->>'workflow_id', (v_stat->>'bucket')::integer, stats_shard, 1)
        ON CONFLICT (workflow_id, bucket, shard) DO UPDATE SET count = b.count + 1;
        INSERT INTO workflow_stats AS w (workflow_id, shard, total, successful, failed, duration_sum_ms, duration_min_ms,
          duration_max_ms, last_at, last_seq, last_status, last_duration_ms)
        VALUES (v_stat->>'workflow_id', stats_shard, 1,
                CASE WHEN v_stat->>'status' = 'completed' THEN 1 ELSE 0 END,
                CASE WHEN v_stat->>'status' = 'failed' THEN 1 ELSE 0 END,
                (v_stat->>'duration_ms')::bigint, (v_stat->>'duration_ms')::bigint, (v_stat->>'duration_ms')::bigint,
                (v_stat->>'at')::bigint, nextval('workflow_finish_seq'), v_stat->>'status', (v_stat->>'duration_ms')::bigint)
        ON CONFLICT (workflow_id, shard) DO UPDATE SET
          total = w.total + 1,
          successful = w.successful + excluded.successful,
          failed = w.failed + excluded.failed,
          duration_sum_ms = w.duration_sum_ms + excluded.duration_sum_ms,
          duration_min_ms = LEAST(w.duration_min_ms, excluded.duration_min_ms),
          duration_max_ms = GREATEST(w.duration_max_ms, excluded.duration_max_ms),
          last_status = CASE WHEN w.last_at IS NULL OR excluded.last_at >= w.last_at
                             THEN excluded.last_status ELSE w.last_status END,
          last_duration_ms = CASE WHEN w.last_at IS NULL OR excluded.last_at >= w.last_at
                                  THEN excluded.last_duration_ms ELSE w.last_duration_ms END,
          last_seq = CASE WHEN w.last_at IS NULL OR excluded.last_at >= w.last_at
                          THEN excluded.last_seq ELSE w.last_seq END,
          last_at = CASE WHEN w.last_at IS NULL OR excluded.last_at >= w.last_at
                         THEN excluded.last_at ELSE w.last_at END;
      ELSE
        RAISE EXCEPTION 'unknown stats delta %', v_stat->>'kind';
    END CASE;
  END LOOP;
END
$fn$;
`;
