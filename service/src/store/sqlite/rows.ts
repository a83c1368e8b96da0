// Row <-> record mapping for the SQLite store. better-sqlite3 binds only numbers,
// strings, bigints, buffers and null, so every optional value is turned into null here
// and booleans only ever travel inside JSON.

import type {
  EventType,
  Handoff,
  HistoryEvent,
  IdempotencyRecord,
  JsonObject,
  OutboxMessage,
  Run,
  SubjectKind,
  Subscription,
  SubscriptionFilter,
  Timer,
  WorkflowDefinition,
} from '../../domain/types.ts';
import type { DueTimer } from '../store.ts';

// ---------------------------------------------------------------- records

export interface HandoffParams {
  id: string;
  from_contractor: string;
  to_contractor: string;
  task_id: string;
  run_id: string | null;
  status: string;
  created_at: number;
  version: number;
  body: string;
}

export function handoffParams(handoff: Handoff): HandoffParams {
  return {
    id: handoff.handoff_id,
    from_contractor: handoff.from_contractor,
    to_contractor: handoff.to_contractor,
    task_id: handoff.task_id,
    run_id: handoff.run_id ?? null,
    status: handoff.status,
    created_at: handoff.created_at,
    version: handoff.version,
    body: JSON.stringify(handoff),
  };
}

export interface RunParams {
  id: string;
  workflow_id: string;
  status: string;
  concurrency_key: string | null;
  created_at: number;
  version: number;
  body: string;
}

export function runParams(run: Run): RunParams {
  return {
    id: run.run_id,
    workflow_id: run.workflow_id,
    status: run.status,
    concurrency_key: run.concurrency_key ?? null,
    created_at: run.created_at,
    version: run.version,
    body: JSON.stringify(run),
  };
}

/** Records are stored whole as JSON; the columns beside them only serve queries. */
export function parseBody<T>(body: string): T {
  return JSON.parse(body) as T;
}

// ---------------------------------------------------------------- history

export interface HistoryRow {
  seq: number;
  subject_kind: SubjectKind;
  subject_id: string;
  type: string;
  actor: string;
  at: number;
  data: string;
}

export function historyParams(event: HistoryEvent): Omit<HistoryRow, 'seq'> {
  return {
    subject_kind: event.subject_kind,
    subject_id: event.subject_id,
    type: event.type,
    actor: event.actor,
    at: event.at,
    data: JSON.stringify(event.data ?? {}),
  };
}

export function historyFromRow(row: HistoryRow): HistoryEvent {
  return {
    seq: row.seq,
    subject_kind: row.subject_kind,
    subject_id: row.subject_id,
    type: row.type,
    actor: row.actor,
    at: row.at,
    data: JSON.parse(row.data) as JsonObject,
  };
}

// ---------------------------------------------------------------- timers

export interface TimerRow {
  subject_kind: SubjectKind;
  subject_id: string;
  kind: string;
  due_at: number;
}

export function timerFromRow(row: TimerRow): Timer {
  return { subject_kind: row.subject_kind, subject_id: row.subject_id, kind: row.kind, due_at: row.due_at };
}

export function dueTimer(row: TimerRow, leaseUntil: number): DueTimer {
  return { ...timerFromRow(row), lease_until: leaseUntil };
}

// ---------------------------------------------------------------- idempotency

export type IdempotencyRow = IdempotencyRecord;

export function idempotencyFromRow(row: IdempotencyRow): IdempotencyRecord {
  return {
    principal: row.principal,
    key: row.key,
    request_hash: row.request_hash,
    status: row.status,
    body: row.body,
    created_at: row.created_at,
  };
}

// ---------------------------------------------------------------- definitions

/** JSON with object keys sorted at every level: equal definitions give equal strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const inner = (value as Record<string, unknown>)[key];
      if (inner !== undefined) out[key] = sortKeys(inner);
    }
    return out;
  }
  return value;
}

export function definitionFromBody(body: string): WorkflowDefinition {
  return JSON.parse(body) as WorkflowDefinition;
}

// ---------------------------------------------------------------- subscriptions and outbox

export interface SubscriptionRow {
  subscription_id: string;
  owner: string;
  url: string;
  events: string;
  filter: string;
  secret: string;
  description: string | null;
  created_at: number;
}

export function subscriptionParams(sub: Subscription): SubscriptionRow {
  return {
    subscription_id: sub.subscription_id,
    owner: sub.owner,
    url: sub.url,
    events: JSON.stringify(sub.events),
    filter: JSON.stringify(sub.filter ?? {}),
    secret: sub.secret,
    description: sub.description ?? null,
    created_at: sub.created_at,
  };
}

export function subscriptionFromRow(row: SubscriptionRow): Subscription {
  return {
    subscription_id: row.subscription_id,
    owner: row.owner,
    url: row.url,
    events: JSON.parse(row.events) as EventType[],
    filter: JSON.parse(row.filter) as SubscriptionFilter,
    secret: row.secret,
    description: row.description,
    created_at: row.created_at,
  };
}

export type OutboxRow = OutboxMessage;

export function outboxFromRow(row: OutboxRow): OutboxMessage {
  return {
    message_id: row.message_id,
    subscription_id: row.subscription_id,
    url: row.url,
    secret: row.secret,
    event_type: row.event_type,
    body: row.body,
    attempts: row.attempts,
    next_attempt_at: row.next_attempt_at,
    created_at: row.created_at,
  };
}
