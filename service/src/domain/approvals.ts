// Approvals: N of M named approvers must approve before a deadline. Who may create and
// read them, how a decision is recorded (approval-rules.ts decides what it does), the
// deadline timer, the history rows and the outgoing events — each change one Mutation.
//
// The callback (the n8n resume URL) is a subscription filtered on the approval's id,
// created in the same transaction as the approval, to the four final events; it is
// delivered through the signed outbox like every callback and retired after the final one.

import { CortexError, forbidden, invalid, notFound, type ErrorDetail } from './errors.ts';
import { commit, type IdempotencyRequest, type Outcome } from './commit.ts';
import { APPROVAL_EVENT, applyDecision, approvalPayload, cancel, isFinal, resolveApprovers, timeOut, type DecisionInput } from './approval-rules.ts';
import { isAdmin, type Clock, type DomainObserver, type Principal } from './principal.ts';
import { redactSecrets } from './redact.ts';
import { newSubscription } from './subscriptions.ts';
import { timeOrderedHex } from './ids.ts';
import type { Approval, ApprovalVerdict, EventType, HistoryEvent, JsonObject, OutgoingEvent, Subscription, Timer } from './types.ts';
import type { ApprovalQuery, Mutation, Page, Store } from '../store/store.ts';

export interface CreateApprovalInput {
  approval_id?: string;
  title: string;
  description?: string;
  context?: JsonObject;
  /** Identities and group:<name> references. */
  approvers: string[];
  required_approvals?: number;
  reject_on_first_rejection?: boolean;
  /** Seconds from now, or an ISO-8601 time. */
  deadline: number | string;
  callback_url?: string;
}

export interface CreatedApproval {
  approval: Approval;
  /** The callback subscription's signing secret (Standard Webhooks), when a callback_url was given. */
  callback_secret: string | null;
}

/** Longest deadline accepted: a year. */
export const MAX_DEADLINE_MS = 365 * 86_400_000;
const DEADLINE_KIND = 'deadline';
const FINAL_EVENTS: EventType[] = [APPROVAL_EVENT.approved, APPROVAL_EVENT.rejected, APPROVAL_EVENT.timed_out, APPROVAL_EVENT.cancelled];

export class ApprovalService {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly observer: DomainObserver;
  private readonly groups: ReadonlyMap<string, readonly string[]>;

  constructor(store: Store, clock: Clock, observer: DomainObserver, groups: ReadonlyMap<string, readonly string[]> = new Map()) {
    this.store = store;
    this.clock = clock;
    this.observer = observer;
    this.groups = groups;
  }

  /** Any token may create an approval; it and the admin may read it. */
  async create(principal: Principal, input: CreateApprovalInput, idempotency?: IdempotencyRequest): Promise<Outcome<CreatedApproval>> {
    const { approvers, unknownGroups } = resolveApprovers(input.approvers, this.groups);
    const details: ErrorDetail[] = unknownGroups.map(({ index, name }) => ({
      path: `body.approvers.${index}`,
      message: `no approver group "${name}" is configured (CORTEX_APPROVER_GROUPS)`,
    }));
    const required = input.required_approvals ?? 1;
    if (unknownGroups.length === 0 && required > approvers.length) {
      details.push({ path: 'body.required_approvals', message: `${required} approvals required but only ${approvers.length} approver(s) listed` });
    }
    if (details.length) throw invalid(`invalid approval: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details);

    return await commit(this.store, this.clock, principal, idempotency, async () => {
      const now = this.clock.now();
      const deadlineAt = this.deadlineOf(input.deadline, now);
      const approvalId = input.approval_id ?? `apr_${timeOrderedHex(now)}`;
      const subscription: Subscription | null = input.callback_url
        ? newSubscription(
            { owner: principal.name, url: input.callback_url, events: FINAL_EVENTS, filter: { approval_id: approvalId }, description: `outcome of approval ${approvalId}` },
            now,
          )
        : null;
      const approval: Approval = {
        approval_id: approvalId,
        title: input.title,
        description: input.description ?? '',
        context: input.context ?? {},
        approvers,
        approvers_requested: [...input.approvers],
        required_approvals: required,
        reject_on_first_rejection: input.reject_on_first_rejection ?? true,
        status: 'pending',
        decisions: [],
        outcome_reason: null,
        deadline_at: deadlineAt,
        callback_url: input.callback_url ?? null,
        subscription_id: subscription?.subscription_id ?? null,
        created_by: principal.name,
        version: 1,
        created_at: now,
        updated_at: now,
        finished_at: null,
      };
      const mutation: Mutation = {
        approval: { insert: approval },
        ...(subscription ? { subscriptions: [subscription] } : {}),
        history: [
          this.historyEvent(approval, 'approval.created', principal.name, now, {
            title: approval.title,
            approvers: approval.approvers,
            required_approvals: approval.required_approvals,
            reject_on_first_rejection: approval.reject_on_first_rejection,
            deadline: new Date(deadlineAt).toISOString(),
            context: approval.context,
          }),
        ],
        timersToSet: [{ subject_kind: 'approval', subject_id: approvalId, kind: DEADLINE_KIND, due_at: deadlineAt }],
      };
      return { record: { approval, callback_secret: subscription?.secret ?? null }, status: 201, mutation };
    });
  }

  async get(principal: Principal, id: string): Promise<Approval> {
    const approval = await this.store.getApproval(id);
    if (!approval) throw notFound('approval', id);
    if (!this.mayRead(principal, approval)) throw forbidden(`${principal.name} did not create approval ${id}`);
    return approval;
  }

  /**
   * Newest first. The admin lists every approval; a contractor the ones it created (as with
   * get): its own name is the created_by filter, and a created_by naming another token matches nothing.
   */
  async list(principal: Principal, query: ApprovalQuery): Promise<Page<Approval>> {
    if (isAdmin(principal)) return await this.store.listApprovals(query);
    if (query.created_by !== undefined && query.created_by !== principal.name) return { items: [], next_cursor: null };
    return await this.store.listApprovals({ ...query, created_by: principal.name });
  }

  /** Without authorization: the approval page checks the signed link instead. */
  async find(id: string): Promise<Approval | null> {
    return await this.store.getApproval(id);
  }

  mayRead(principal: Principal, approval: Approval): boolean {
    return isAdmin(principal) || approval.created_by === principal.name;
  }

  async history(principal: Principal, id: string, afterSeq: number, limit: number): Promise<HistoryEvent[]> {
    await this.get(principal, id);
    return await this.store.listHistory('approval', id, afterSeq, limit);
  }

  /** An admin token recording a decision for a named approver (chat-ops and the like). */
  async decideAsAdmin(
    principal: Principal,
    id: string,
    input: { approver: string; decision: ApprovalVerdict; comment?: string | null },
    idempotency?: IdempotencyRequest,
  ): Promise<Outcome<Approval>> {
    if (!isAdmin(principal)) throw forbidden('only an admin token may record a decision through the API; approvers use their links');
    if (!(await this.store.getApproval(id))) throw notFound('approval', id);
    return await this.decide(id, { approver: input.approver, decision: input.decision, comment: input.comment ?? null, via: 'api' }, principal, idempotency);
  }

  /** An approver's decision through their signed link (the link was checked by the caller). */
  async decideByLink(id: string, input: { approver: string; decision: ApprovalVerdict; comment?: string | null }): Promise<Outcome<Approval>> {
    const approver: Principal = { name: input.approver, role: 'contractor' };
    return await this.decide(id, { approver: input.approver, decision: input.decision, comment: input.comment ?? null, via: 'link' }, approver);
  }

  /**
   * Its creator or an admin withdraws a pending approval: cancelled, with a history event, its
   * deadline timer cleared and approval.cancelled to its callback, like any other outcome.
   */
  async cancel(principal: Principal, id: string, reason: string | null, idempotency?: IdempotencyRequest): Promise<Outcome<Approval>> {
    return await commit(this.store, this.clock, principal, idempotency, async () => {
      const current = await this.store.getApproval(id);
      if (!current) throw notFound('approval', id);
      if (!this.mayRead(principal, current)) throw forbidden(`only ${current.created_by} (its creator) or an admin may cancel approval ${id}`);
      const now = this.clock.now();
      const next = cancel(current, principal.name, reason, now);
      return { record: next, status: 200, mutation: this.changeMutation(current, next, principal.name, now, null) };
    });
  }

  /** Fires an approval's deadline; false when it no longer applies (decided, or not due). */
  async fireTimer(timer: Timer): Promise<boolean> {
    if (timer.kind !== DEADLINE_KIND) return false;
    const system: Principal = { name: 'cortex', role: 'admin' };
    try {
      await commit(this.store, this.clock, system, undefined, async () => {
        const current = await this.store.getApproval(timer.subject_id);
        const now = this.clock.now();
        if (!current || isFinal(current) || current.deadline_at > now) throw new StaleTimer();
        const next = timeOut(current, now);
        return { record: next, status: 200, mutation: this.changeMutation(current, next, system.name, now, null) };
      });
    } catch (error) {
      if (error instanceof StaleTimer) return false;
      throw error;
    }
    this.observer.timeoutFired('approval_deadline');
    return true;
  }

  // ------------------------------------------------------------------ internals

  private async decide(id: string, input: DecisionInput, actor: Principal, idempotency?: IdempotencyRequest): Promise<Outcome<Approval>> {
    return await commit(this.store, this.clock, actor, idempotency, async () => {
      const current = await this.store.getApproval(id);
      if (!current) throw notFound('approval', id);
      const now = this.clock.now();
      const next = applyDecision(current, input, now);
      return { record: next, status: 200, mutation: this.changeMutation(current, next, actor.name, now, input) };
    });
  }

  /** The decision's history row, and the outcome's row, event and timer clearing when it ended. */
  private changeMutation(current: Approval, next: Approval, actor: string, now: number, decision: DecisionInput | null): Mutation {
    const history: HistoryEvent[] = [];
    if (decision) {
      history.push(
        this.historyEvent(next, 'approval.decision', decision.approver, now, {
          approver: decision.approver,
          decision: decision.decision,
          comment: decision.comment,
          via: decision.via,
          ...(decision.via === 'api' ? { recorded_by: actor } : {}),
        }),
      );
    }
    const outgoing: OutgoingEvent[] = [];
    const ended = !isFinal(current) && isFinal(next);
    if (ended) {
      const type = APPROVAL_EVENT[next.status as keyof typeof APPROVAL_EVENT];
      history.push(
        this.historyEvent(next, type, decision ? decision.approver : actor, now, {
          outcome_reason: next.outcome_reason,
          approved_by: next.decisions.filter((d) => d.decision === 'approve').map((d) => d.approver),
          rejected_by: next.decisions.filter((d) => d.decision === 'reject').map((d) => d.approver),
          ...(next.status === 'cancelled' ? { reason: next.cancel_reason ?? null } : {}),
        }),
      );
      outgoing.push({ type, attributes: { approval_id: next.approval_id }, payload: { approval: approvalPayload(next) } });
    }
    return {
      approval: { update: next, expectedVersion: current.version },
      history,
      outgoing,
      timersToClear: ended ? [{ subject_kind: 'approval', subject_id: next.approval_id }] : [],
    };
  }

  private deadlineOf(deadline: number | string, now: number): number {
    const at = typeof deadline === 'number' ? now + Math.round(deadline * 1000) : Date.parse(deadline);
    if (!Number.isFinite(at) || at <= now) {
      throw invalid('the deadline must be in the future', [{ path: 'body.deadline', message: 'must be in the future' }]);
    }
    if (at - now > MAX_DEADLINE_MS) {
      throw invalid('the deadline is more than a year away', [{ path: 'body.deadline', message: 'at most 365 days ahead' }]);
    }
    return at;
  }

  private historyEvent(approval: Approval, type: string, actor: string, at: number, data: JsonObject): HistoryEvent {
    return {
      subject_kind: 'approval',
      subject_id: approval.approval_id,
      type,
      actor,
      at,
      data: redactSecrets({ status: approval.status, version: approval.version, ...data }),
    };
  }
}

class StaleTimer extends CortexError {
  constructor() {
    super('conflict', 'stale_timer', 'timer no longer applies');
  }
}
