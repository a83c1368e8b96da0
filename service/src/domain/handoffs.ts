// Handoffs between contractors: who may do what, which transition it is, which timers
// it arms or clears, what it announces and what it adds to the metrics.

import { CortexError, conflict, forbidden, notFound } from './errors.ts';
import { timeOrderedHex } from './ids.ts';
import { commit, type IdempotencyRequest, type Outcome } from './commit.ts';
import {
  HANDOFF_DEADLINES,
  HANDOFF_TRANSITIONS,
  canTransition,
  isHandoffDeadline,
  type HandoffAction,
} from './handoff-machine.ts';
import { isAdmin, type Clock, type DomainObserver, type Principal } from './principal.ts';
import { runParties } from './run-parties.ts';
import { redactSecrets } from './redact.ts';
import type { ErrorInfo, Handoff, HistoryEvent, JsonObject, StatsDelta, Timer } from './types.ts';
import type { HandoffQuery, Mutation, Page, Store } from '../store/store.ts';

export interface CreateHandoffInput {
  handoff_id?: string;
  from_contractor: string;
  to_contractor: string;
  task_id: string;
  data?: JsonObject;
  run_id?: string | null;
  phase_id?: string | null;
  claim_timeout?: number | null;
  completion_timeout?: number | null;
  heartbeat_timeout?: number | null;
}

export interface TransitionOptions {
  ifMatch?: number;
  idempotency?: IdempotencyRequest;
}

const seconds = (s: number): number => Math.round(s * 1000);

export class HandoffService {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly observer: DomainObserver;

  constructor(store: Store, clock: Clock, observer: DomainObserver) {
    this.store = store;
    this.clock = clock;
    this.observer = observer;
  }

  async create(principal: Principal, input: CreateHandoffInput, idempotency?: IdempotencyRequest): Promise<Outcome<Handoff>> {
    if (!isAdmin(principal) && input.from_contractor !== principal.name) {
      throw forbidden(`contractor ${principal.name} may only create handoffs from itself`);
    }
    if (input.run_id) {
      const run = await this.store.getRun(input.run_id);
      if (!run) throw notFound('run', input.run_id);
      if (!isAdmin(principal) && !runParties(run).includes(principal.name)) {
        throw forbidden(`contractor ${principal.name} may only attach handoffs to runs it started or owns a phase of`);
      }
    }
    const outcome = await commit(this.store, this.clock, principal, idempotency, async () => {
      const now = this.clock.now();
      const handoff: Handoff = {
        handoff_id: input.handoff_id ?? `hof_${timeOrderedHex(now)}`,
        from_contractor: input.from_contractor,
        to_contractor: input.to_contractor,
        task_id: input.task_id,
        data: input.data ?? {},
        status: 'pending',
        run_id: input.run_id ?? null,
        phase_id: input.phase_id ?? null,
        result: null,
        error: null,
        progress: null,
        claim_timeout: input.claim_timeout ?? null,
        completion_timeout: input.completion_timeout ?? null,
        heartbeat_timeout: input.heartbeat_timeout ?? null,
        version: 1,
        created_at: now,
        updated_at: now,
        claimed_at: null,
        finished_at: null,
        last_heartbeat_at: null,
      };
      const participationKey = handoff.run_id ?? handoff.task_id;
      const mutation: Mutation = {
        handoff: { insert: handoff },
        history: [this.historyEvent(handoff, 'handoff.created', principal, now, { data: handoff.data })],
        outgoing: [this.outgoing(handoff, 'handoff.created')],
        timersToSet:
          handoff.claim_timeout === null ? [] : [this.timer(handoff, 'claim', now + seconds(handoff.claim_timeout))],
        stats: [
          { kind: 'participation', contractor: handoff.from_contractor, key: participationKey },
          { kind: 'participation', contractor: handoff.to_contractor, key: participationKey },
        ],
      };
      return { record: handoff, status: 201, mutation };
    });
    if (!outcome.replayed) this.observer.handoffTransition('pending');
    return outcome;
  }

  async get(principal: Principal, id: string): Promise<Handoff> {
    const handoff = await this.store.getHandoff(id);
    if (!handoff) throw notFound('handoff', id);
    if (!isAdmin(principal) && !this.involves(handoff, principal)) {
      throw forbidden(`contractor ${principal.name} is not a party to handoff ${id}`);
    }
    return handoff;
  }

  async list(principal: Principal, query: HandoffQuery): Promise<Page<Handoff>> {
    return this.store.listHandoffs(isAdmin(principal) ? query : { ...query, involving: principal.name });
  }

  async history(principal: Principal, id: string, afterSeq: number, limit: number): Promise<HistoryEvent[]> {
    await this.get(principal, id);
    return this.store.listHistory('handoff', id, afterSeq, limit);
  }

  claim(principal: Principal, id: string, options: TransitionOptions = {}): Promise<Outcome<Handoff>> {
    return this.transition(principal, id, 'claim', options, (handoff, now) => {
      handoff.claimed_at = now;
      handoff.last_heartbeat_at = now;
      const timers: Timer[] = [];
      if (handoff.completion_timeout !== null) {
        timers.push(this.timer(handoff, 'completion', now + seconds(handoff.completion_timeout)));
      }
      if (handoff.heartbeat_timeout !== null) {
        timers.push(this.timer(handoff, 'heartbeat', now + seconds(handoff.heartbeat_timeout)));
      }
      return { timersToSet: timers, historyData: {} };
    });
  }

  heartbeat(principal: Principal, id: string, progress: JsonObject | undefined, options: TransitionOptions = {}) {
    return this.transition(principal, id, 'heartbeat', options, (handoff, now) => {
      handoff.last_heartbeat_at = now;
      if (progress !== undefined) handoff.progress = progress;
      const timers =
        handoff.heartbeat_timeout === null ? [] : [this.timer(handoff, 'heartbeat', now + seconds(handoff.heartbeat_timeout))];
      return { timersToSet: timers, historyData: {} };
    });
  }

  complete(principal: Principal, id: string, result: JsonObject | undefined, options: TransitionOptions = {}) {
    return this.transition(principal, id, 'complete', options, (handoff) => {
      handoff.result = result ?? {};
      return { timersToSet: [], historyData: { result: handoff.result } };
    });
  }

  fail(principal: Principal, id: string, error: ErrorInfo, options: TransitionOptions = {}) {
    return this.transition(principal, id, 'fail', options, (handoff) => {
      handoff.error = error;
      return { timersToSet: [], historyData: { error } };
    });
  }

  cancel(principal: Principal, id: string, reason: string | undefined, options: TransitionOptions = {}) {
    return this.transition(principal, id, 'cancel', options, (handoff) => {
      handoff.error = { code: 'handoff_cancelled', message: reason ?? `cancelled by ${principal.name}` };
      return { timersToSet: [], historyData: { error: handoff.error } };
    });
  }

  /**
   * Fires a due handoff timer. Returns false when the timer no longer applies (the
   * handoff moved on or the deadline was re-armed): the caller just drops it.
   */
  async fireTimer(timer: Timer): Promise<boolean> {
    if (!isHandoffDeadline(timer.kind)) return false;
    const deadline = HANDOFF_DEADLINES[timer.kind];
    const system: Principal = { name: 'cortex', role: 'admin' };
    try {
      await commit(this.store, this.clock, system, undefined, async () => {
        const handoff = await this.store.getHandoff(timer.subject_id);
        if (!handoff || handoff.status !== deadline.while) throw new StaleTimer();
        const due = this.dueAt(handoff, timer.kind);
        if (due === null || due > this.clock.now()) throw new StaleTimer();
        const now = this.clock.now();
        const next: Handoff = {
          ...handoff,
          status: 'failed',
          error: {
            code: deadline.code,
            message: `no ${timer.kind} from ${handoff.to_contractor} within ${this.limitOf(handoff, timer.kind)}s`,
          },
          version: handoff.version + 1,
          updated_at: now,
          finished_at: now,
        };
        return { record: next, status: 200, mutation: this.finishMutation(handoff, next, 'timeout', system, now, { error: next.error! }, []) };
      });
    } catch (error) {
      if (error instanceof StaleTimer) return false;
      throw error;
    }
    this.observer.timeoutFired(timer.kind);
    this.observer.handoffTransition('failed');
    return true;
  }

  // ------------------------------------------------------------------ internals

  private async transition(
    principal: Principal,
    id: string,
    action: HandoffAction,
    options: TransitionOptions,
    change: (handoff: Handoff, now: number) => { timersToSet: Timer[]; historyData: JsonObject },
  ): Promise<Outcome<Handoff>> {
    const outcome = await commit(this.store, this.clock, principal, options.idempotency, async () => {
      const current = await this.store.getHandoff(id);
      if (!current) throw notFound('handoff', id);
      this.authorize(principal, current, action);
      if (options.ifMatch !== undefined && options.ifMatch !== current.version) {
        throw conflict('version_mismatch', `handoff ${id} is at version ${current.version}, not ${options.ifMatch}`);
      }
      if (!canTransition(current.status, action)) {
        throw conflict('illegal_transition', `cannot ${action} handoff ${id}: it is ${current.status}`);
      }
      const now = this.clock.now();
      const next: Handoff = {
        ...current,
        status: HANDOFF_TRANSITIONS[action].to,
        version: current.version + 1,
        updated_at: now,
      };
      const { timersToSet, historyData } = change(next, now);
      if (next.status === 'completed' || next.status === 'failed') next.finished_at = now;
      return { record: next, status: 200, mutation: this.finishMutation(current, next, action, principal, now, historyData, timersToSet) };
    });
    if (!outcome.replayed && action !== 'heartbeat') this.observer.handoffTransition(outcome.record.status);
    return outcome;
  }

  private finishMutation(
    current: Handoff,
    next: Handoff,
    action: HandoffAction,
    principal: Principal,
    now: number,
    historyData: JsonObject,
    timersToSet: Timer[],
  ): Mutation {
    const event = HANDOFF_TRANSITIONS[action].event;
    const final = next.status === 'completed' || next.status === 'failed';
    const timersToClear =
      action === 'claim' || final ? [{ subject_kind: 'handoff' as const, subject_id: next.handoff_id }] : [];
    const stats: StatsDelta[] = final
      ? [
          {
            kind: 'handoff_finished',
            contractor: next.to_contractor,
            failed: next.status === 'failed',
            error_code: next.error?.code ?? null,
            duration_ms: now - next.created_at,
          },
        ]
      : [];
    return {
      handoff: { update: next, expectedVersion: current.version },
      history: event ? [this.historyEvent(next, event, principal, now, historyData)] : [],
      outgoing: event ? [this.outgoing(next, event)] : [],
      timersToClear,
      timersToSet,
      stats,
    };
  }

  private authorize(principal: Principal, handoff: Handoff, action: HandoffAction): void {
    if (isAdmin(principal)) return;
    if (action === 'cancel') {
      if (principal.name !== handoff.from_contractor) {
        throw forbidden(`only ${handoff.from_contractor} (the sender) or an admin may cancel handoff ${handoff.handoff_id}`);
      }
      return;
    }
    if (principal.name !== handoff.to_contractor) {
      throw forbidden(`only ${handoff.to_contractor} may ${action} handoff ${handoff.handoff_id}`);
    }
  }

  private involves(handoff: Handoff, principal: Principal): boolean {
    return handoff.from_contractor === principal.name || handoff.to_contractor === principal.name;
  }

  private limitOf(handoff: Handoff, kind: string): number | null {
    if (kind === 'claim') return handoff.claim_timeout;
    if (kind === 'completion') return handoff.completion_timeout;
    return handoff.heartbeat_timeout;
  }

  /** When a deadline of this handoff is due, from the record itself (timers can be stale). */
  dueAt(handoff: Handoff, kind: string): number | null {
    const limit = this.limitOf(handoff, kind);
    if (limit === null) return null;
    if (kind === 'claim') return handoff.created_at + seconds(limit);
    if (handoff.claimed_at === null) return null;
    if (kind === 'completion') return handoff.claimed_at + seconds(limit);
    return (handoff.last_heartbeat_at ?? handoff.claimed_at) + seconds(limit);
  }

  private timer(handoff: Handoff, kind: string, dueAt: number): Timer {
    return { subject_kind: 'handoff', subject_id: handoff.handoff_id, kind, due_at: dueAt };
  }

  private historyEvent(handoff: Handoff, type: string, principal: Principal, at: number, data: JsonObject): HistoryEvent {
    return {
      subject_kind: 'handoff',
      subject_id: handoff.handoff_id,
      type,
      actor: principal.name,
      at,
      data: redactSecrets({ status: handoff.status, version: handoff.version, ...data }),
    };
  }

  private outgoing(handoff: Handoff, type: NonNullable<(typeof HANDOFF_TRANSITIONS)[HandoffAction]['event']>) {
    return {
      type,
      attributes: {
        to_contractor: handoff.to_contractor,
        from_contractor: handoff.from_contractor,
        handoff_id: handoff.handoff_id,
        ...(handoff.run_id ? { run_id: handoff.run_id } : {}),
      },
      payload: { handoff: handoffPayload(handoff) },
    };
  }
}

class StaleTimer extends CortexError {
  constructor() {
    super('conflict', 'stale_timer', 'timer no longer applies');
  }
}

/** The handoff as subscribers and clients see it: ISO times and the deadlines spelled out. */
export function handoffPayload(handoff: Handoff): JsonObject {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  const plus = (base: number | null, s: number | null): string | null =>
    base === null || s === null ? null : iso(base + seconds(s));
  return {
    handoff_id: handoff.handoff_id,
    from_contractor: handoff.from_contractor,
    to_contractor: handoff.to_contractor,
    task_id: handoff.task_id,
    data: handoff.data,
    status: handoff.status,
    run_id: handoff.run_id,
    phase_id: handoff.phase_id,
    result: handoff.result,
    error: handoff.error ? { code: handoff.error.code, message: handoff.error.message } : null,
    progress: handoff.progress,
    claim_timeout: handoff.claim_timeout,
    completion_timeout: handoff.completion_timeout,
    heartbeat_timeout: handoff.heartbeat_timeout,
    claim_deadline: handoff.status === 'pending' ? plus(handoff.created_at, handoff.claim_timeout) : null,
    completion_deadline: handoff.status === 'in_progress' ? plus(handoff.claimed_at, handoff.completion_timeout) : null,
    heartbeat_deadline:
      handoff.status === 'in_progress' ? plus(handoff.last_heartbeat_at ?? handoff.claimed_at, handoff.heartbeat_timeout) : null,
    version: handoff.version,
    created_at: iso(handoff.created_at),
    updated_at: iso(handoff.updated_at),
    claimed_at: iso(handoff.claimed_at),
    finished_at: iso(handoff.finished_at),
    last_heartbeat_at: iso(handoff.last_heartbeat_at),
  };
}
