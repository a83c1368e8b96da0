// The records the service keeps. Times are epoch milliseconds inside the service;
// the HTTP layer presents them as ISO-8601 strings.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const HANDOFF_STATUSES = ['pending', 'in_progress', 'completed', 'failed'] as const;
export type HandoffStatus = (typeof HANDOFF_STATUSES)[number];

export type ErrorInfo = {
  code: string;
  message: string;
};

/** The seed's handoff record plus what durability and auditing need. */
export interface Handoff {
  handoff_id: string;
  from_contractor: string;
  to_contractor: string;
  task_id: string;
  data: JsonObject;
  status: HandoffStatus;
  run_id: string | null;
  phase_id: string | null;
  result: JsonObject | null;
  error: ErrorInfo | null;
  progress: JsonObject | null;
  /** Seconds; null means no such deadline. */
  claim_timeout: number | null;
  completion_timeout: number | null;
  heartbeat_timeout: number | null;
  version: number;
  created_at: number;
  updated_at: number;
  claimed_at: number | null;
  finished_at: number | null;
  last_heartbeat_at: number | null;
}

export type SubjectKind = 'handoff' | 'run' | 'approval';

/** One row of a subject's history: every state change writes one. */
export interface HistoryEvent {
  seq?: number;
  subject_kind: SubjectKind;
  subject_id: string;
  type: string;
  actor: string;
  at: number;
  data: JsonObject;
}

/** A durable deadline. Unique per (subject_kind, subject_id, kind). */
export interface Timer {
  subject_kind: SubjectKind;
  subject_id: string;
  /**
   * 'claim' | 'completion' | 'heartbeat' for handoffs; 'run' | 'phase:<id>' | 'action:<phase>/<action>' for runs;
   * 'deadline' for approvals.
   */
  kind: string;
  due_at: number;
}

export interface TimerRef {
  subject_kind: SubjectKind;
  subject_id: string;
  /** Omitted: every timer of the subject. */
  kind?: string;
}

// ---------------------------------------------------------------- definitions and runs

export interface DefinitionAction {
  action_id: string;
  action: string;
  parameters?: JsonObject;
  timeout?: number;
  on_error?: 'rollback' | 'fail' | 'continue';
}

export interface DefinitionPhase {
  phase_id: string;
  phase_name?: string;
  contractor: string;
  actions: DefinitionAction[];
  timeout?: number;
  handoff_to?: string;
  handoff_data?: string[];
  rollback?: DefinitionAction[];
}

/** The seed's workflow template format. */
export interface WorkflowDefinition {
  workflow_id: string;
  workflow_name: string;
  description?: string;
  version: string;
  contractors: string[];
  estimated_duration?: string;
  phases: DefinitionPhase[];
  rollback_procedure?: { phases: string[] };
  success_criteria?: string[];
  [extra: string]: unknown;
}

export const RUN_STATUSES = ['running', 'completed', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export type PhaseStatus = 'pending' | 'in_progress' | 'completed' | 'failed' | 'skipped';
export type ActionStatus = 'in_progress' | 'completed' | 'failed';
export type RollbackStepStatus = 'pending' | 'done' | 'failed';

export interface RunAction {
  action_id: string;
  status: ActionStatus;
  started_at: number;
  finished_at: number | null;
  error: ErrorInfo | null;
}

export interface RunPhase {
  phase_id: string;
  contractor: string;
  status: PhaseStatus;
  started_at: number | null;
  finished_at: number | null;
  error: ErrorInfo | null;
  output: JsonObject | null;
  actions: RunAction[];
}

export interface RollbackStep {
  step_id: string;
  /** The phase this step undoes. */
  phase_id: string;
  contractor: string;
  /** Rollback actions named by the definition for that phase (may be empty). */
  actions: DefinitionAction[];
  status: RollbackStepStatus;
  updated_at: number | null;
  note: string | null;
}

export interface RollbackPlan {
  status: 'pending' | 'in_progress' | 'done' | 'failed';
  steps: RollbackStep[];
}

export interface Run {
  run_id: string;
  workflow_id: string;
  workflow_version: string;
  status: RunStatus;
  parameters: JsonObject;
  concurrency_key: string | null;
  dry_run: boolean;
  started_by: string;
  phases: RunPhase[];
  error: ErrorInfo | null;
  rollback: RollbackPlan | null;
  version: number;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

// ---------------------------------------------------------------- subscriptions and outbox

export const EVENT_TYPES = [
  'handoff.created',
  'handoff.claimed',
  'handoff.completed',
  'handoff.failed',
  'handoff.timed_out',
  'handoff.cancelled',
  'run.started',
  'run.completed',
  'run.failed',
  'approval.approved',
  'approval.rejected',
  'approval.timed_out',
  'approval.cancelled',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface SubscriptionFilter {
  to_contractor?: string;
  from_contractor?: string;
  handoff_id?: string;
  run_id?: string;
  workflow_id?: string;
  approval_id?: string;
}

export interface Subscription {
  subscription_id: string;
  owner: string;
  url: string;
  events: EventType[];
  filter: SubscriptionFilter;
  /** Standard Webhooks secret, "whsec_<base64>". */
  secret: string;
  description: string | null;
  created_at: number;
}

/** What a state change announces; fanned out to matching subscriptions in the same transaction. */
export interface OutgoingEvent {
  type: EventType;
  /** Attributes the subscription filters look at. */
  attributes: SubscriptionFilter;
  payload: JsonObject;
}

export interface OutboxMessage {
  message_id: string;
  subscription_id: string;
  url: string;
  secret: string;
  event_type: EventType;
  body: string;
  attempts: number;
  next_attempt_at: number;
  created_at: number;
}

// ---------------------------------------------------------------- approvals

export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'timed_out', 'cancelled'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];
export type ApprovalVerdict = 'approve' | 'reject';

/** One approver's decision: who, what, when, why, and how it reached the service. */
export interface ApprovalDecision {
  approver: string;
  decision: ApprovalVerdict;
  comment: string | null;
  at: number;
  /** 'link': the approver's signed link (the approval page); 'api': an admin token acting for the approver. */
  via: 'link' | 'api';
}

/** N-of-M human approval with a deadline (domain/approvals.ts). */
export interface Approval {
  approval_id: string;
  title: string;
  /** Markdown, rendered on the approval page as a small safe subset. */
  description: string;
  context: JsonObject;
  /** Approver identities, groups expanded, in the order given, without duplicates. */
  approvers: string[];
  /** The approvers as requested (identities and group:<name> references). */
  approvers_requested: string[];
  required_approvals: number;
  reject_on_first_rejection: boolean;
  status: ApprovalStatus;
  decisions: ApprovalDecision[];
  /** Why it ended: approvals_reached | rejected | approval_impossible | deadline | cancelled. */
  outcome_reason: string | null;
  /** Who cancelled it (its creator or an admin), and why; absent on approvals never cancelled. */
  cancelled_by?: string | null;
  cancel_reason?: string | null;
  deadline_at: number;
  /** The n8n resume URL (or any URL) that the outcome is delivered to, through a subscription. */
  callback_url: string | null;
  subscription_id: string | null;
  /** The token name that created it: it (and the admin) may read it. */
  created_by: string;
  version: number;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

// ---------------------------------------------------------------- metrics deltas

export type StatsDelta =
  | { kind: 'participation'; contractor: string; key: string }
  | {
      kind: 'handoff_finished';
      contractor: string;
      failed: boolean;
      error_code: string | null;
      duration_ms: number;
    }
  | {
      kind: 'run_finished';
      workflow_id: string;
      status: 'completed' | 'failed';
      duration_ms: number;
      at: number;
    };

export interface IdempotencyRecord {
  principal: string;
  key: string;
  request_hash: string;
  status: number;
  body: string;
  created_at: number;
}
