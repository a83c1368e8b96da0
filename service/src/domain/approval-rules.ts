// The approval state machine and its counting rules, pure (no store, no clock).
//
//   pending ──decision──▶ pending        (recorded; the outcome is not settled yet)
//      │
//      ├──approve, the Nth approval──────────────────────────▶ approved  (approvals_reached)
//      ├──reject, reject_on_first_rejection──────────────────▶ rejected  (rejected)
//      ├──reject, too few undecided approvers left to reach N─▶ rejected  (approval_impossible)
//      ├──deadline (the timer sweeper)───────────────────────▶ timed_out (deadline)
//      └──cancel (its creator or an admin)───────────────────▶ cancelled (cancelled)
//
// approved, rejected, timed_out and cancelled are final: a decision then is refused (409
// approval_decided), and so is a cancellation (409 illegal_transition). Each approver counts once (409 already_decided); someone not on the
// list is refused (403 not_an_approver); a decision at or after the deadline is refused
// (409 approval_expired) even before the sweeper has timed the approval out, so a late
// click can never turn a timeout into an approval.

import { CortexError, conflict } from './errors.ts';
import type { Approval, ApprovalDecision, ApprovalStatus, ApprovalVerdict, JsonObject } from './types.ts';

export const FINAL_APPROVAL_STATUSES: readonly ApprovalStatus[] = ['approved', 'rejected', 'timed_out', 'cancelled'];
export const APPROVAL_EVENT = {
  approved: 'approval.approved',
  rejected: 'approval.rejected',
  timed_out: 'approval.timed_out',
  cancelled: 'approval.cancelled',
} as const;

export const GROUP_PREFIX = 'group:';
/** An approver identity (alice, alice@example.com): the one rule for the API and CORTEX_APPROVER_GROUPS. */
export const APPROVER_IDENTITY = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$/;
/** An approver group's name in CORTEX_APPROVER_GROUPS, referenced as group:<name>. */
export const APPROVER_GROUP_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export interface DecisionInput {
  approver: string;
  decision: ApprovalVerdict;
  comment: string | null;
  via: ApprovalDecision['via'];
}

export const isFinal = (approval: Approval): boolean => FINAL_APPROVAL_STATUSES.includes(approval.status);

/**
 * Approver identities from the requested list: identities as they are, `group:<name>`
 * expanded from the configured groups; duplicates dropped, first occurrence kept.
 * Unknown groups are returned so that the caller can name them.
 */
export function resolveApprovers(requested: readonly string[], groups: ReadonlyMap<string, readonly string[]>): { approvers: string[]; unknownGroups: { index: number; name: string }[] } {
  const approvers: string[] = [];
  const unknownGroups: { index: number; name: string }[] = [];
  const add = (who: string) => {
    if (!approvers.includes(who)) approvers.push(who);
  };
  requested.forEach((entry, index) => {
    if (!entry.startsWith(GROUP_PREFIX)) return add(entry);
    const name = entry.slice(GROUP_PREFIX.length);
    const members = groups.get(name);
    if (!members) unknownGroups.push({ index, name });
    else members.forEach(add);
  });
  return { approvers, unknownGroups };
}

export function counts(approval: Pick<Approval, 'decisions'>): { approvals: number; rejections: number } {
  let approvals = 0;
  let rejections = 0;
  for (const d of approval.decisions) {
    if (d.decision === 'approve') approvals++;
    else rejections++;
  }
  return { approvals, rejections };
}

/**
 * The approval after one more decision (a new object; the input is not changed). Throws
 * the CortexError a client gets when the decision is not allowed.
 */
export function applyDecision(current: Approval, input: DecisionInput, now: number): Approval {
  if (isFinal(current)) {
    throw conflict('approval_decided', `approval ${current.approval_id} is already ${current.status.replace('_', ' ')}`);
  }
  if (now >= current.deadline_at) {
    throw conflict('approval_expired', `the deadline of approval ${current.approval_id} has passed`);
  }
  if (!current.approvers.includes(input.approver)) {
    throw new CortexError('forbidden', 'not_an_approver', `${input.approver} is not an approver of approval ${current.approval_id}`);
  }
  const earlier = current.decisions.find((d) => d.approver === input.approver);
  if (earlier) {
    throw conflict('already_decided', `${input.approver} already decided (${earlier.decision}) on approval ${current.approval_id}`);
  }
  const decisions: ApprovalDecision[] = [
    ...current.decisions,
    { approver: input.approver, decision: input.decision, comment: input.comment, at: now, via: input.via },
  ];
  const next: Approval = { ...current, decisions, version: current.version + 1, updated_at: now };
  const { approvals } = counts(next);
  const undecided = next.approvers.length - decisions.length;
  if (input.decision === 'approve' && approvals >= next.required_approvals) return finish(next, 'approved', 'approvals_reached', now);
  if (input.decision === 'reject') {
    if (next.reject_on_first_rejection) return finish(next, 'rejected', 'rejected', now);
    if (approvals + undecided < next.required_approvals) return finish(next, 'rejected', 'approval_impossible', now);
  }
  return next;
}

/** The approval timed out at `now` (the caller checked that it is pending and due). */
export function timeOut(current: Approval, now: number): Approval {
  return finish({ ...current, version: current.version + 1, updated_at: now }, 'timed_out', 'deadline', now);
}

/**
 * The approval cancelled at `now` by `actor` (the caller checked who may). Only a pending
 * approval before its deadline can be cancelled: afterwards it is settled, or about to time out.
 */
export function cancel(current: Approval, actor: string, reason: string | null, now: number): Approval {
  if (isFinal(current)) {
    throw conflict('illegal_transition', `cannot cancel approval ${current.approval_id}: it is ${current.status.replace('_', ' ')}`);
  }
  if (now >= current.deadline_at) {
    throw conflict('approval_expired', `cannot cancel approval ${current.approval_id}: its deadline has passed`);
  }
  const next: Approval = { ...current, cancelled_by: actor, cancel_reason: reason, version: current.version + 1, updated_at: now };
  return finish(next, 'cancelled', 'cancelled', now);
}

function finish(approval: Approval, status: ApprovalStatus, reason: string, now: number): Approval {
  return { ...approval, status, outcome_reason: reason, finished_at: now };
}

/** Each approver with what they decided (or 'pending'), in the approvers' order. */
export function approverStatuses(approval: Approval): JsonObject[] {
  return approval.approvers.map((approver) => {
    const decision = approval.decisions.find((d) => d.approver === approver);
    return {
      approver,
      status: decision ? (decision.decision === 'approve' ? 'approved' : 'rejected') : 'pending',
      decided_at: decision ? new Date(decision.at).toISOString() : null,
      comment: decision?.comment ?? null,
    };
  });
}

/** The approval as clients and subscribers see it: ISO times, counts and per-approver status. */
export function approvalPayload(approval: Approval): JsonObject {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  const { approvals, rejections } = counts(approval);
  return {
    approval_id: approval.approval_id,
    title: approval.title,
    description: approval.description,
    context: approval.context,
    status: approval.status,
    outcome_reason: approval.outcome_reason,
    cancelled_by: approval.cancelled_by ?? null,
    cancel_reason: approval.cancel_reason ?? null,
    required_approvals: approval.required_approvals,
    reject_on_first_rejection: approval.reject_on_first_rejection,
    approvals,
    rejections,
    approved_by: approval.decisions.filter((d) => d.decision === 'approve').map((d) => d.approver),
    rejected_by: approval.decisions.filter((d) => d.decision === 'reject').map((d) => d.approver),
    approvers: approverStatuses(approval),
    approvers_requested: approval.approvers_requested,
    decisions: approval.decisions.map((d) => ({ approver: d.approver, decision: d.decision, comment: d.comment, at: iso(d.at), via: d.via })),
    deadline: iso(approval.deadline_at),
    callback_url: approval.callback_url,
    subscription_id: approval.subscription_id,
    created_by: approval.created_by,
    version: approval.version,
    created_at: iso(approval.created_at),
    updated_at: iso(approval.updated_at),
    finished_at: iso(approval.finished_at),
  };
}
